using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

/// <summary>
/// One image's RoIs as plain arrays (ImageRois is a ref struct and cannot live in a generator).
/// Boxes sit on a small integer grid so overlaps are common, and losses are quarter steps so ties
/// are common too: both are where selection bugs hide.
/// </summary>
public sealed class RoiCase
{
    public RoiCase(float[] boxes, float[] losses, int[] labels, float[] maxOverlaps)
    {
        Boxes = boxes;
        Losses = losses;
        Labels = labels;
        MaxOverlaps = maxOverlaps;
    }

    public float[] Boxes { get; }

    public float[] Losses { get; }

    public int[] Labels { get; }

    public float[] MaxOverlaps { get; }

    public int Count => Labels.Length;

    public ImageRois Rois => new(Boxes, Losses, Labels, MaxOverlaps);

    public IEnumerable<int> Candidates => Enumerable.Range(0, Count).Where(i => Labels[i] >= 0);

    /// <summary>Builds a case from per-RoI tuples (box, loss, label, max overlap).</summary>
    public static RoiCase From(params (float X1, float Y1, float X2, float Y2, float Loss, int Label, float MaxOverlap)[] rois) =>
        new(
            [.. rois.SelectMany(r => new[] { r.X1, r.Y1, r.X2, r.Y2 })],
            [.. rois.Select(r => r.Loss)],
            [.. rois.Select(r => r.Label)],
            [.. rois.Select(r => r.MaxOverlap)]);

    /// <summary>Disjoint unit boxes with the given losses and labels (no NMS interaction).</summary>
    public static RoiCase Disjoint(float[] losses, int[] labels, float[]? maxOverlaps = null) =>
        new(
            [.. Enumerable.Range(0, losses.Length).SelectMany(i => new float[] { 10 * i, 0, 10 * i + 5, 5 })],
            losses,
            labels,
            maxOverlaps ?? new float[losses.Length]);

    public static Gen<RoiCase> Generator { get; } =
        Gen.ArrayOf(
                from x in Gen.Choose(0, 30)
                from y in Gen.Choose(0, 30)
                from w in Gen.Choose(0, 16)
                from h in Gen.Choose(0, 16)
                from loss in Gen.Choose(0, 24)
                from label in Gen.Frequency((1, Gen.Constant(-1)), (3, Gen.Constant(0)), (2, Gen.Choose(1, 3)))
                from overlap in Gen.Choose(0, 20)
                select ((float)x, (float)y, (float)(x + w), (float)(y + h), loss / 4f, label, overlap / 20f))
            .Select(From);

    public static Arbitrary<(RoiCase Case, int Budget)> WithBudget { get; } =
        (from c in Generator from b in Gen.Choose(1, 40) select (c, b)).ToArbitrary();

    public override string ToString() =>
        string.Join("; ", Enumerable.Range(0, Count).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"#{i} box({Boxes[4 * i]},{Boxes[4 * i + 1]},{Boxes[4 * i + 2]},{Boxes[4 * i + 3]}) loss {Losses[i]} label {Labels[i]} mo {MaxOverlaps[i]}")));
}
