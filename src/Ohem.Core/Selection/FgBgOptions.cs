namespace Ohem.Core.Selection;

/// <summary>
/// Options of the "fgbg" policy, Fast R-CNN's sampling heuristic (py-faster-rcnn's TRAIN.BATCH_SIZE,
/// FG_FRACTION, FG_THRESH, BG_THRESH_HI, BG_THRESH_LO). Defaults are the paper's baseline.
/// </summary>
public sealed record FgBgOptions
{
    /// <summary>RoIs sampled per image (64 = 128 over 2 images).</summary>
    public int Budget { get; init; } = 64;

    /// <summary>Target share of foreground RoIs (1:3 fg:bg).</summary>
    public double ForegroundFraction { get; init; } = 0.25;

    /// <summary>A foreground RoI needs max IoU with a ground-truth box &gt;= this.</summary>
    public float ForegroundThreshold { get; init; } = 0.5f;

    /// <summary>A background RoI has max IoU &lt; this.</summary>
    public float BackgroundHigh { get; init; } = 0.5f;

    /// <summary>A background RoI has max IoU &gt;= this (bg_lo; the OHEM paper argues for 0).</summary>
    public float BackgroundLow { get; init; } = 0.1f;

    /// <summary>Seed of the sampler's generator.</summary>
    public int Seed { get; init; }

    internal void Validate()
    {
        Guard.Positive(Budget, "budget");
        Guard.Fraction(ForegroundFraction, "foregroundFraction");
        Guard.Fraction(ForegroundThreshold, "foregroundThreshold");
        Guard.Fraction(BackgroundHigh, "backgroundHigh");
        Guard.Fraction(BackgroundLow, "backgroundLow");
        Guard.AtMost(BackgroundLow, BackgroundHigh, "backgroundLow", "backgroundHigh");
    }
}
