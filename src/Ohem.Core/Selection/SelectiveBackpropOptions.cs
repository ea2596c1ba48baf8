namespace Ohem.Core.Selection;

/// <summary>
/// Options of the "selective-backprop" policy (Jiang et al. 2019). The keep probability of a RoI is
/// percentile^beta, where the percentile is its loss's rank in a window of recent losses. Give at
/// most one of <see cref="Beta"/> and <see cref="KeepFraction"/>; with neither, beta is derived per
/// image so that about <see cref="Budget"/> RoIs are kept on average.
/// </summary>
public sealed record SelectiveBackpropOptions
{
    /// <summary>
    /// Expected RoIs kept per image when neither beta nor keepFraction is set: keep fraction
    /// min(1, budget / candidates). Not a hard cap: the number kept is random.
    /// </summary>
    public int Budget { get; init; } = 64;

    /// <summary>The largest <see cref="WindowSize"/>: the window and its sorted copy are allocated
    /// up front (8 MiB at this size), so a request cannot make the miner allocate without bound.</summary>
    public const int MaxWindowSize = 1 << 20;

    /// <summary>Recent candidate losses the percentile is measured against (a ring buffer), 1 to
    /// <see cref="MaxWindowSize"/>.</summary>
    public int WindowSize { get; init; } = 4096;

    /// <summary>The largest <see cref="Beta"/>: beyond it percentile^beta is 0 for every percentile below 1.</summary>
    public const double MaxBeta = 1e6;

    /// <summary>The exponent of the keep probability percentile^beta (the paper's beta; 0 keeps all), 0 to
    /// <see cref="MaxBeta"/>.</summary>
    public double? Beta { get; init; }

    /// <summary>
    /// Expected share of candidates kept, in (0, 1]: beta = 1/f - 1, since E[U^beta] = 1/(beta + 1)
    /// when the percentile U is uniform.
    /// </summary>
    public double? KeepFraction { get; init; }

    /// <summary>Seed of the keep/drop coin flips.</summary>
    public int Seed { get; init; }

    internal void Validate()
    {
        Guard.Positive(Budget, "budget");
        Guard.InRange(WindowSize, 1, MaxWindowSize, "windowSize");
        if (Beta is { } beta)
        {
            Guard.NonNegativeAtMost(beta, MaxBeta, "beta");
        }

        if (KeepFraction is { } fraction)
        {
            Guard.Fraction(fraction, "keepFraction", allowZero: false);
        }

        if (Beta is not null && KeepFraction is not null)
        {
            throw new ArgumentException(
                "beta and keepFraction both set; give one (keepFraction f means beta = 1/f - 1).");
        }
    }
}
