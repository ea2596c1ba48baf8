using System.Diagnostics.CodeAnalysis;

namespace Ohem.Core.Selection;

/// <summary>
/// The bookkeeping every policy shares: counting ignored RoIs and turning chosen indices into a
/// <see cref="Selection"/> with consistent <see cref="SelectionCounts"/>.
/// </summary>
internal static class SelectionBuilder
{
    /// <summary>
    /// How every policy starts: check the RoIs, count candidates and ignored ones; false, with the
    /// empty selection, when no RoI can be selected.
    /// </summary>
    public static bool TryBegin(ImageRois rois, out int candidates, out int ignored, [NotNullWhen(false)] out Selection? empty, bool requireMaxOverlaps = false)
    {
        rois.Validate(requireMaxOverlaps);
        ignored = CountIgnored(rois.Labels);
        candidates = rois.Labels.Length - ignored;
        empty = candidates == 0 ? Empty(0, ignored) : null;
        return empty is null;
    }

    /// <summary>Number of RoIs with label -1 (never candidates).</summary>
    public static int CountIgnored(ReadOnlySpan<int> labels)
    {
        var ignored = 0;
        foreach (var label in labels)
        {
            if (label < 0)
            {
                ignored++;
            }
        }

        return ignored;
    }

    public static Selection Empty(int candidates, int ignored, int suppressedByNms = 0) =>
        new([], null, new SelectionCounts(candidates, ignored, suppressedByNms, 0, 0));

    /// <summary>Wraps <paramref name="indices"/> (already unique, candidates only) with its counts.</summary>
    public static Selection Build(
        int[] indices, float[]? weights, ReadOnlySpan<int> labels, int candidates, int ignored, int suppressedByNms = 0)
    {
        var foreground = 0;
        foreach (var i in indices)
        {
            if (labels[i] >= 1)
            {
                foreground++;
            }
        }

        return new Selection(
            indices, weights, new SelectionCounts(candidates, ignored, suppressedByNms, foreground, indices.Length - foreground));
    }
}
