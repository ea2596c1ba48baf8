namespace Ohem.Core.Selection;

/// <summary>
/// One image's RoIs as a selection policy sees them, structure-of-arrays over R RoIs.
/// </summary>
/// <param name="Boxes">[R, 4] (x1, y1, x2, y2) in input-image pixels.</param>
/// <param name="Losses">[R] per-RoI loss from <see cref="RoiLoss"/> (the hardness).</param>
/// <param name="Labels">[R] -1 ignore, 0 background, 1..K object class.</param>
/// <param name="MaxOverlaps">[R] max IoU with any ground-truth box; needed only by policies that
/// read it (the fgbg baseline's bg_lo); empty when unknown.</param>
/// <param name="ClassLosses">[R] the classification term of each loss (<see cref="RoiLoss.ComputeTerms"/>);
/// needed only by policies ranking by <see cref="HardnessLoss.Class"/>; empty when unknown.</param>
/// <param name="BoxLosses">[R] the box term of each loss; needed only for <see cref="HardnessLoss.Box"/>.</param>
public readonly ref struct ImageRois(
    ReadOnlySpan<float> Boxes,
    ReadOnlySpan<float> Losses,
    ReadOnlySpan<int> Labels,
    ReadOnlySpan<float> MaxOverlaps = default,
    ReadOnlySpan<float> ClassLosses = default,
    ReadOnlySpan<float> BoxLosses = default)
{
    public ReadOnlySpan<float> Boxes { get; } = Boxes;

    public ReadOnlySpan<float> Losses { get; } = Losses;

    public ReadOnlySpan<int> Labels { get; } = Labels;

    public ReadOnlySpan<float> MaxOverlaps { get; } = MaxOverlaps;

    public ReadOnlySpan<float> ClassLosses { get; } = ClassLosses;

    public ReadOnlySpan<float> BoxLosses { get; } = BoxLosses;

    public int Count => Labels.Length;

    /// <summary>
    /// Checks the arrays agree in length, boxes are well formed, losses (and overlaps) are finite
    /// and labels are at least -1. Throws <see cref="ArgumentException"/> naming the field and the
    /// first bad index.
    /// </summary>
    public void Validate(bool requireMaxOverlaps = false)
    {
        var r = Labels.Length;
        Guard.Length(Boxes.Length, 4 * r, nameof(Boxes), $"4 floats per RoI for {r} labels");
        Guard.Length(Losses.Length, r, nameof(Losses), "one loss per RoI");
        Guard.Boxes(Boxes, nameof(Boxes));
        Guard.Finite(Losses, nameof(Losses));
        Guard.Labels(Labels, int.MaxValue, nameof(Labels));
        if (requireMaxOverlaps || !MaxOverlaps.IsEmpty)
        {
            Guard.Length(MaxOverlaps.Length, r, nameof(MaxOverlaps), "one max IoU per RoI");
            Guard.Finite(MaxOverlaps, nameof(MaxOverlaps));
        }

        OptionalTerm(ClassLosses, r, nameof(ClassLosses));
        OptionalTerm(BoxLosses, r, nameof(BoxLosses));
    }

    private static void OptionalTerm(ReadOnlySpan<float> terms, int count, string name)
    {
        if (!terms.IsEmpty)
        {
            Guard.Length(terms.Length, count, name, "one loss term per RoI");
            Guard.Finite(terms, name);
        }
    }

    /// <summary>
    /// The losses a policy ranks by for <paramref name="kind"/>. Throws <see cref="ArgumentException"/>
    /// naming the missing term when the caller did not supply it.
    /// </summary>
    public ReadOnlySpan<float> Hardness(HardnessLoss kind)
    {
        var terms = kind switch
        {
            HardnessLoss.Class => ClassLosses,
            HardnessLoss.Box => BoxLosses,
            _ => Losses,
        };
        if (terms.Length != Count)
        {
            var name = kind switch { HardnessLoss.Class => nameof(ClassLosses), HardnessLoss.Box => nameof(BoxLosses), _ => nameof(Losses) };
            throw new ArgumentException(
                $"{name} holds {terms.Length} values for {Count} RoIs; ranking by hardness '{kind.Name()}' needs that loss term per RoI.", name);
        }

        return terms;
    }
}
