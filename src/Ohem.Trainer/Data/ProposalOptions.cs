namespace Ohem.Trainer.Data;

/// <summary>
/// How proposals like selective search's are drawn for a canvas: <see cref="Count"/> boxes, of which
/// <see cref="ObjectFraction"/> are jittered around the objects (spread from near copies to loose
/// neighbours: IoU with the object from about 0.1 to 1), <see cref="DistractorFraction"/> around the
/// hard negatives (random instead when the canvas has none), and the rest random boxes of any scale
/// and aspect. The ground-truth boxes come first when <see cref="IncludeGroundTruth"/> (Fast R-CNN
/// training adds them).
/// </summary>
public sealed record ProposalOptions
{
    /// <summary>Proposals per canvas besides the ground-truth boxes.</summary>
    public int Count { get; init; } = 2000;

    /// <summary>A proposal is foreground when its largest IoU with a ground-truth box is at least this.</summary>
    public float FgThreshold { get; init; } = 0.5f;

    public float ObjectFraction { get; init; } = 0.4f;

    public float DistractorFraction { get; init; } = 0.1f;

    /// <summary>Jitter spreads are drawn from [MinJitter, MaxJitter] (defaults 0 and 0.5): the standard deviation of the centre shift and of the log-size change, relative to the box.</summary>
    public float MinJitter { get; init; }

    public float MaxJitter { get; init; } = 0.5f;

    /// <summary>Smallest side of a random box before clipping, in pixels.</summary>
    public float MinRandomSize { get; init; } = 6f;

    public bool IncludeGroundTruth { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        Require(Count is >= 0 and <= 1_000_000, nameof(Count), Count, "in [0, 1000000]");
        Require(FgThreshold is > 0f and <= 1f, nameof(FgThreshold), FgThreshold, "in (0, 1]");
        Require(ObjectFraction is >= 0f and <= 1f, nameof(ObjectFraction), ObjectFraction, "in [0, 1]");
        Require(DistractorFraction >= 0f && ObjectFraction + DistractorFraction <= 1f, nameof(DistractorFraction), DistractorFraction, $"in [0, 1 - ObjectFraction = {1f - ObjectFraction}]");
        Require(MinJitter >= 0f, nameof(MinJitter), MinJitter, ">= 0");
        Require(MaxJitter >= MinJitter && MaxJitter <= 2f, nameof(MaxJitter), MaxJitter, $"in [MinJitter = {MinJitter}, 2]");
        Require(MinRandomSize >= 1f, nameof(MinRandomSize), MinRandomSize, ">= 1");
    }

    private static void Require(bool ok, string field, object value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentException($"ProposalOptions.{field} is {value}; expected {expected}.", field);
        }
    }
}
