namespace Ohem.Core.Selection;

/// <summary>Options of the "topk" policy (mmdetection's OHEMSampler: hardest k, no NMS).</summary>
public sealed record TopKOptions
{
    /// <summary>RoIs kept per image.</summary>
    public int Budget { get; init; } = 64;

    /// <summary>
    /// When set, positives (label &gt;= 1) and negatives (label 0) are mined separately:
    /// up to (int)(budget * positiveFraction) hardest positives, the rest of the budget the hardest
    /// negatives (mmdetection's pos_fraction, 0.25 there). Null mines all candidates together.
    /// </summary>
    public double? PositiveFraction { get; init; }

    /// <summary>The part of the loss RoIs are ranked by (option "hardness": cls+box, cls or box).</summary>
    public HardnessLoss Hardness { get; init; }

    internal void Validate()
    {
        Guard.Positive(Budget, "budget");
        if (PositiveFraction is { } fraction)
        {
            Guard.Fraction(fraction, "positiveFraction");
        }
    }
}
