using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Tests.Support;
using Ohem.Testing;

namespace Ohem.Core.Tests;

/// <summary>Randomised properties of NMS against an independent naive implementation.</summary>
public class NmsPropertyTests
{
    /// <summary>A random NMS problem on a coarse grid, so duplicates, nesting, touching edges and
    /// zero-area boxes are common; scores from a small set, so ties are common too.</summary>
    internal sealed record Problem(float[] Boxes, float[] Scores, int[] Classes, float Threshold)
    {
        public override string ToString() =>
            $"n={Scores.Length} t={Threshold} boxes=[{string.Join(",", Boxes)}] scores=[{string.Join(",", Scores)}] classes=[{string.Join(",", Classes)}]";
    }

    private static readonly Gen<float> Coordinate = Gen.Choose(0, 24).Select(v => v * 0.5f);

    private static readonly Gen<Problem> Problems =
        from n in Gen.Choose(0, 80)
        from corners in Gen.ArrayOf(Gen.Four(Coordinate), n)
        from scores in Gen.ArrayOf(Gen.Choose(0, 7).Select(s => s / 4f - 0.5f), n)
        from classes in Gen.ArrayOf(Gen.Choose(0, 2), n)
        from threshold in Gen.Elements(0f, 0.1f, 0.3f, 0.5f, 0.7f, 0.9f, 1f)
        select new Problem(
            corners.SelectMany(c => new[] { Math.Min(c.Item1, c.Item3), Math.Min(c.Item2, c.Item4), Math.Max(c.Item1, c.Item3), Math.Max(c.Item2, c.Item4) }).ToArray(),
            scores, classes, threshold);

    private static Arbitrary<Problem> Arbitrary => Problems.ToArbitrary();

    /// <summary>Continuous coordinates, box sides from 1e-3 to 1e4 and offsets up to 1e5: stresses
    /// the scale levels, cells and rounding slack of the kept-box index.</summary>
    private static readonly Gen<Problem> WideProblems =
        from n in Gen.Choose(1, 120)
        from seed in Gen.Choose(0, int.MaxValue)
        from threshold in Gen.Elements(0f, 0.05f, 0.5f, 0.7f, 0.95f)
        select Wide(n, seed, threshold);

    private static Problem Wide(int n, int seed, float threshold)
    {
        var rng = new Random(seed);
        var offset = (float)Math.Pow(10, rng.NextDouble() * 5);
        var boxes = new float[4 * n];
        for (var i = 0; i < n; i++)
        {
            // Half the boxes are small perturbations of an earlier one, so near-threshold IoUs occur.
            float x, y, w, h;
            if (i > 0 && rng.Next(2) == 0)
            {
                var j = rng.Next(i);
                var jitter = (float)Math.Pow(10, -rng.NextDouble() * 4);
                w = (boxes[4 * j + 2] - boxes[4 * j]) * (1 + jitter * (float)(rng.NextDouble() - 0.5));
                h = (boxes[4 * j + 3] - boxes[4 * j + 1]) * (1 + jitter * (float)(rng.NextDouble() - 0.5));
                x = boxes[4 * j] + w * jitter * (float)(rng.NextDouble() - 0.5);
                y = boxes[4 * j + 1] + h * jitter * (float)(rng.NextDouble() - 0.5);
            }
            else
            {
                w = (float)Math.Pow(10, rng.NextDouble() * 7 - 3);
                h = w * (float)Math.Pow(10, rng.NextDouble() - 0.5);
                x = offset + (float)(rng.NextDouble() * 4 * w);
                y = offset + (float)(rng.NextDouble() * 4 * h);
            }

            boxes[4 * i] = x; boxes[4 * i + 1] = y; boxes[4 * i + 2] = x + Math.Abs(w); boxes[4 * i + 3] = y + Math.Abs(h);
        }

        var scores = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        return new Problem(boxes, scores, Enumerable.Range(0, n).Select(_ => rng.Next(3)).ToArray(), threshold);
    }

    [Fact]
    public void Equals_the_naive_quadratic_reference() =>
        Properties.Check(Prop.ForAll(Arbitrary, p =>
            Nms.Select(p.Boxes, p.Scores, p.Threshold).SequenceEqual(NaiveNms.Run(p.Boxes, p.Scores, p.Threshold))), 500);

    [Fact]
    public void Equals_the_naive_reference_across_scales_and_offsets() =>
        Properties.Check(Prop.ForAll(WideProblems.ToArbitrary(), p =>
            Nms.Select(p.Boxes, p.Scores, p.Threshold).SequenceEqual(NaiveNms.Run(p.Boxes, p.Scores, p.Threshold))
            && Nms.SelectPerClass(p.Boxes, p.Scores, p.Classes, p.Threshold)
                .SequenceEqual(NaiveNms.Run(p.Boxes, p.Scores, p.Threshold, p.Classes))), 1000);

    [Fact]
    public void Per_class_equals_the_naive_reference_per_class() =>
        Properties.Check(Prop.ForAll(Arbitrary, p =>
            Nms.SelectPerClass(p.Boxes, p.Scores, p.Classes, p.Threshold)
                .SequenceEqual(NaiveNms.Run(p.Boxes, p.Scores, p.Threshold, p.Classes))), 500);

    [Fact]
    public void No_two_kept_boxes_overlap_above_the_threshold() =>
        Properties.Check(Prop.ForAll(Arbitrary, p =>
        {
            var kept = Nms.Select(p.Boxes, p.Scores, p.Threshold);
            return kept.All(i => kept.All(j => i == j || !(NaiveNms.Iou(p.Boxes, i, j) > p.Threshold)));
        }));

    [Fact]
    public void Every_suppressed_box_overlaps_a_kept_box_scored_at_least_as_high() =>
        Properties.Check(Prop.ForAll(Arbitrary, p =>
        {
            var kept = Nms.Select(p.Boxes, p.Scores, p.Threshold);
            var keptSet = kept.ToHashSet();
            return Enumerable.Range(0, p.Scores.Length).Where(i => !keptSet.Contains(i)).All(i =>
                kept.Any(k => p.Scores[k] >= p.Scores[i] && NaiveNms.Iou(p.Boxes, k, i) > p.Threshold));
        }));

    [Fact]
    public void Output_is_sorted_by_score_and_unique() =>
        Properties.Check(Prop.ForAll(Arbitrary, p =>
        {
            var kept = Nms.SelectPerClass(p.Boxes, p.Scores, p.Classes, p.Threshold);
            var ordered = kept.Zip(kept.Skip(1)).All(x =>
                p.Scores[x.First] > p.Scores[x.Second] || (p.Scores[x.First] == p.Scores[x.Second] && x.First < x.Second));
            return ordered && kept.Distinct().Count() == kept.Length;
        }));
}
