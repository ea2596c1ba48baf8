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

    /// <summary>Recent candidate losses the percentile is measured against (a ring buffer).</summary>
    public int WindowSize { get; init; } = 4096;

    /// <summary>The exponent of the keep probability percentile^beta (the paper's beta; 0 keeps all).</summary>
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
        Guard.Positive(WindowSize, "windowSize");
        if (Beta is { } beta)
        {
            Guard.NonNegativeFinite(beta, "beta");
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
