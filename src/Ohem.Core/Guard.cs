using System.Globalization;
using System.Numerics.Tensors;

namespace Ohem.Core;

/// <summary>
/// Argument checks shared by the library boundary. Each failure is an <see cref="ArgumentException"/>
/// whose message names the argument, the first bad index and what was expected.
/// </summary>
internal static class Guard
{
    public static void Length(int actual, int expected, string name, string expectedWhat)
    {
        if (actual != expected)
        {
            throw new ArgumentException(
                $"{name} has {actual} elements; expected {expected} ({expectedWhat}).", name);
        }
    }

    public static void Finite(ReadOnlySpan<float> values, string name)
    {
        // Fast path: one vectorised pass; the scalar scan only runs to name the first bad index.
        if (TensorPrimitives.IsFiniteAll(values))
        {
            return;
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException(
                    $"{name}[{i}] is {Format(values[i])}; expected a finite float32.", name);
            }
        }
    }

    /// <summary>Boxes are (x1, y1, x2, y2) interleaved: finite, with x2 &gt;= x1 and y2 &gt;= y1.</summary>
    public static int Boxes(ReadOnlySpan<float> xyxy, string name)
    {
        if (xyxy.Length % 4 != 0)
        {
            throw new ArgumentException(
                $"{name} has {xyxy.Length} floats; expected 4 per box (x1, y1, x2, y2).", name);
        }

        Finite(xyxy, name);
        for (var i = 0; i < xyxy.Length; i += 4)
        {
            if (xyxy[i + 2] < xyxy[i] || xyxy[i + 3] < xyxy[i + 1])
            {
                throw new ArgumentException(
                    $"{name} box {i / 4} is ({Format(xyxy[i])}, {Format(xyxy[i + 1])}, {Format(xyxy[i + 2])}, {Format(xyxy[i + 3])}); expected x2 >= x1 and y2 >= y1.",
                    name);
            }
        }

        return xyxy.Length / 4;
    }

    /// <summary>Labels are -1 (ignore), 0 (background) or 1..numClasses.</summary>
    public static void Labels(ReadOnlySpan<int> labels, int numClasses, string name)
    {
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < -1 || labels[i] > numClasses)
            {
                throw new ArgumentException(
                    $"{name}[{i}] is {labels[i]}; expected -1 (ignore), 0 (background) or 1..{numClasses}.", name);
            }
        }
    }

    public static void IouThreshold(float threshold, string name)
    {
        if (!(threshold >= 0f && threshold <= 1f))
        {
            throw new ArgumentOutOfRangeException(
                name, threshold, $"{name} is {Format(threshold)}; expected an IoU threshold in [0, 1].");
        }
    }

    public static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is {value}; expected at least 1.");
        }
    }

    /// <summary>An integer option with a documented range (sizes that allocate, say).</summary>
    public static void InRange(int value, int min, int max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is {value}; expected {min} to {max}.");
        }
    }

    public static void Fraction(double value, string name, bool allowZero = true)
    {
        if (!(value <= 1.0 && (allowZero ? value >= 0.0 : value > 0.0)))
        {
            throw new ArgumentOutOfRangeException(
                name, value, $"{name} is {value.ToString(CultureInfo.InvariantCulture)}; expected a fraction in {(allowZero ? "[0" : "(0")}, 1].");
        }
    }

    private static string Format(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A number in [0, <paramref name="max"/>]: finite, and small enough that sums over a batch stay finite.</summary>
    public static void NonNegativeAtMost(double value, double max, string name)
    {
        if (!(value >= 0.0 && value <= max))
        {
            throw new ArgumentOutOfRangeException(
                name, value,
                $"{name} is {value.ToString(CultureInfo.InvariantCulture)}; expected a number in [0, {max.ToString(CultureInfo.InvariantCulture)}].");
        }
    }

    /// <summary>Ordered option pairs (e.g. backgroundLow &lt;= backgroundHigh); names the lower one.</summary>
    public static void AtMost(double value, double bound, string name, string boundName)
    {
        if (!(value <= bound))
        {
            throw new ArgumentOutOfRangeException(
                name, value,
                $"{name} is {value.ToString(CultureInfo.InvariantCulture)}; expected at most {boundName} ({bound.ToString(CultureInfo.InvariantCulture)}).");
        }
    }
}
