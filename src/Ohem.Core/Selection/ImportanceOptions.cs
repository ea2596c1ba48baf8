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

    /// <summary>Seed of the sampler's generator.</summary>
    public int Seed { get; init; }

    internal void Validate()
    {
        Guard.Positive(Budget, "budget");
        Guard.NonNegativeFinite(Smoothing, "smoothing");
    }
}
