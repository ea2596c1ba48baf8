using System.Globalization;

namespace Ohem.Torch;

/// <summary>
/// Checks of the spans the head takes, before any tensor is made, so a bad argument names its
/// field. RoI coordinates are bounded so that x * scale rounds to an int.
/// </summary>
internal static class HeadInputChecks
{
    /// <summary>The largest |coordinate| accepted, in image pixels (2^24).</summary>
    public const float MaxCoordinate = 16_777_216f;

    /// <summary>
    /// Returns R; checks [R, 5] rows of (integral batch index in [0, images), finite x1, y1, x2, y2
    /// with x2 &gt;= x1 and y2 &gt;= y1: the box contract the miner checks too).
    /// </summary>
    public static int Rois(ReadOnlySpan<float> rois, int images)
    {
        if (rois.Length % 5 != 0)
        {
            throw new ArgumentException($"rois holds {rois.Length} floats; expected [R, 5] (batch index, x1, y1, x2, y2).", nameof(rois));
        }

        var count = rois.Length / 5;
        for (var r = 0; r < count; r++)
        {
            var batch = rois[5 * r];
            if (!(batch >= 0f && batch < images && batch == MathF.Floor(batch)))
            {
                throw new ArgumentException(
                    $"rois[{r}, 0] (batch index) is {Format(batch)}; expected an integer in [0, {images}) (the feature maps hold {images} images).",
                    nameof(rois));
            }

            for (var k = 1; k < 5; k++)
            {
                var value = rois[5 * r + k];
                if (!(MathF.Abs(value) <= MaxCoordinate))
                {
                    throw new ArgumentException(
                        $"rois[{r}, {k}] is {Format(value)}; expected a finite coordinate within ±{MaxCoordinate} pixels.", nameof(rois));
                }
            }

            if (rois[5 * r + 3] < rois[5 * r + 1] || rois[5 * r + 4] < rois[5 * r + 2])
            {
                throw new ArgumentException(
                    $"rois[{r}] is ({Format(rois[5 * r + 1])}, {Format(rois[5 * r + 2])}, {Format(rois[5 * r + 3])}, {Format(rois[5 * r + 4])}); "
                    + "expected x2 >= x1 and y2 >= y1.",
                    nameof(rois));
            }
        }

        return count;
    }

    public static void Length(int actual, long expected, string name, string shape)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} holds {actual} values; expected {shape} = {expected}.", name);
        }
    }

    public static void Labels(ReadOnlySpan<int> labels, int numClasses)
    {
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < -1 || labels[i] > numClasses)
            {
                throw new ArgumentException(
                    $"labels[{i}] is {labels[i]}; expected -1 (ignore), 0 (background) or 1..{numClasses}.", nameof(labels));
            }
        }
    }

    public static void Finite(ReadOnlySpan<float> values, string name, bool nonNegative = false)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]) || (nonNegative && values[i] < 0f))
            {
                throw new ArgumentException(
                    $"{name}[{i}] is {Format(values[i])}; expected a finite number{(nonNegative ? " >= 0" : string.Empty)}.", name);
            }
        }
    }

    private static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
