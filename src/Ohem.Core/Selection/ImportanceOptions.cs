namespace Ohem.Core.Selection;

/// <summary>Options of the "importance" policy (loss-proportional sampling, Katharopoulos &amp; Fleuret 2018).</summary>
public sealed record ImportanceOptions
{
    /// <summary>RoIs sampled per image, without replacement.</summary>
    public int Budget { get; init; } = 64;

    /// <summary>
    /// Added to every loss before sampling: w = loss + smoothing. Mixes in uniform sampling, which
    /// keeps the weights bounded when most losses are near 0.
    /// </summary>
    public double Smoothing { get; init; }

    /// <summary>The largest <see cref="Smoothing"/>: sums of weights over any batch stay finite in
    /// double precision, so the importance weights do too (beyond it sampling is uniform anyway).</summary>
    public const double MaxSmoothing = 1e12;

    /// <summary>Seed of the sampler's generator.</summary>
    public int Seed { get; init; }

    internal void Validate()
    {
        Guard.Positive(Budget, "budget");
        Guard.NonNegativeAtMost(Smoothing, MaxSmoothing, "smoothing");
    }
}
