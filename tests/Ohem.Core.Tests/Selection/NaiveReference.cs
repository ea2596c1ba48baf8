namespace Ohem.Core.Tests.Selection;

/// <summary>
/// Slow, obvious re-implementations of the ranking policies, written from the definitions (not
/// from the library code), for the property tests to compare against.
/// </summary>
internal static class NaiveReference
{
    /// <summary>
    /// OHEM: candidates only, sorted by loss descending (lower index first), greedy O(n^2) NMS with
    /// torchvision's float formula (suppress when ovr &gt; t), then the first <paramref name="budget"/>.
    /// </summary>
    public static int[] Ohem(RoiCase c, float threshold, int budget, bool perClass)
    {
        var kept = new List<int>();
        foreach (var i in SelectionAssert.HardestFirst(c.Candidates, c.Losses))
        {
            var suppressed = kept.Any(k => (!perClass || c.Labels[k] == c.Labels[i]) && Overlap(c, k, i) > threshold);
            if (!suppressed)
            {
                kept.Add(i);
            }
        }

        return [.. kept.Take(budget)];
    }

    public static int OhemSurvivors(RoiCase c, float threshold, bool perClass) =>
        Ohem(c, threshold, int.MaxValue, perClass).Length;

    /// <summary>torchvision's ovr = inter / (area[kept] + area[cand] - inter), float32.</summary>
    public static float Overlap(RoiCase c, int kept, int cand)
    {
        var b = c.Boxes;
        float kx1 = b[4 * kept], ky1 = b[4 * kept + 1], kx2 = b[4 * kept + 2], ky2 = b[4 * kept + 3];
        float x1 = b[4 * cand], y1 = b[4 * cand + 1], x2 = b[4 * cand + 2], y2 = b[4 * cand + 3];
        var w = MathF.Max(0f, MathF.Min(kx2, x2) - MathF.Max(kx1, x1));
        var h = MathF.Max(0f, MathF.Min(ky2, y2) - MathF.Max(ky1, y1));
        var inter = w * h;
        var areaKept = (kx2 - kx1) * (ky2 - ky1);
        var areaCand = (x2 - x1) * (y2 - y1);
        return inter / (areaKept + areaCand - inter);
    }

    /// <summary>Hardest <paramref name="budget"/> candidates by a full sort.</summary>
    public static int[] TopK(RoiCase c, int budget) => [.. SelectionAssert.HardestFirst(c.Candidates, c.Losses).Take(budget)];

    /// <summary>mmdetection OHEMSampler: int(budget * f) positives at most, negatives fill the rest.</summary>
    public static int[] TopK(RoiCase c, int budget, double positiveFraction)
    {
        var pos = SelectionAssert.HardestFirst(c.Candidates.Where(i => c.Labels[i] >= 1), c.Losses);
        var neg = SelectionAssert.HardestFirst(c.Candidates.Where(i => c.Labels[i] == 0), c.Losses);
        var takePos = Math.Min((int)(budget * positiveFraction), pos.Length);
        var takeNeg = Math.Min(budget - takePos, neg.Length);
        return SelectionAssert.HardestFirst(pos.Take(takePos).Concat(neg.Take(takeNeg)), c.Losses);
    }
}
