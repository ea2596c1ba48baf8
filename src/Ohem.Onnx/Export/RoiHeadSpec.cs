using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;

namespace Ohem.Onnx.Export;

/// <summary>
/// The shape of a Fast R-CNN RoI head: RoI max pooling of a <paramref name="Channels"/>-channel
/// feature map to <paramref name="PooledHeight"/> x <paramref name="PooledWidth"/> bins, fully
/// connected hidden layers (fc6, fc7, ...) with ReLU, then a classifier over K + 1 classes
/// (<c>cls_score</c>, column 0 is background) and class-specific box deltas (<c>bbox_pred</c>,
/// 4 per class).
/// </summary>
/// <param name="Channels">C, the feature map's channels.</param>
/// <param name="PooledHeight">Rows of RoI pooling bins.</param>
/// <param name="PooledWidth">Columns of RoI pooling bins.</param>
/// <param name="SpatialScale">Feature map size over image size (e.g. 1/16 for VGG16 conv5).</param>
/// <param name="HiddenSizes">
/// Widths of the hidden layers fc6, fc7, ... in order; may be empty (a linear head on the pooled
/// features). Copied: later changes to the caller's list do not reach the spec.
/// </param>
/// <param name="NumClasses">K, the object classes, not counting background.</param>
public sealed record RoiHeadSpec(
    int Channels, int PooledHeight, int PooledWidth, float SpatialScale, IReadOnlyList<int> HiddenSizes, int NumClasses)
{
    /// <summary>C.</summary>
    public int Channels { get; } = Positive(Channels, nameof(Channels));

    /// <summary>Rows of RoI pooling bins.</summary>
    public int PooledHeight { get; } = Positive(PooledHeight, nameof(PooledHeight));

    /// <summary>Columns of RoI pooling bins.</summary>
    public int PooledWidth { get; } = Positive(PooledWidth, nameof(PooledWidth));

    /// <summary>Feature map size over image size; finite and &gt; 0.</summary>
    public float SpatialScale { get; } = Scale(SpatialScale, nameof(SpatialScale));

    /// <summary>Widths of fc6, fc7, ... (a read-only copy).</summary>
    public IReadOnlyList<int> HiddenSizes { get; } = Hidden(HiddenSizes, nameof(HiddenSizes));

    /// <summary>K, the object classes (background not counted).</summary>
    public int NumClasses { get; } = Positive(NumClasses, nameof(NumClasses));

    /// <summary>
    /// The number of float32 parameters of the head (all weights and biases). Construction fails
    /// when any one weight tensor would have more elements than a .NET array can hold.
    /// </summary>
    public long ParameterCount { get; } = CountParameters(Channels, PooledHeight, PooledWidth, HiddenSizes, NumClasses);

    /// <summary>C * PooledHeight * PooledWidth: the width of the flattened pooled features, fc6's fan-in.</summary>
    public int PooledFeatureSize => Channels * PooledHeight * PooledWidth;

    /// <summary>The width of the last hidden layer (the pooled features when there is none).</summary>
    public int LastHiddenSize => HiddenSizes.Count == 0 ? PooledFeatureSize : HiddenSizes[^1];

    /// <summary>K + 1: the columns of <c>cls_score</c>.</summary>
    public int ClsScoreWidth => NumClasses + 1;

    /// <summary>4 (K + 1): the columns of <c>bbox_pred</c>.</summary>
    public int BboxPredWidth => 4 * (NumClasses + 1);

    /// <summary>Equal when every dimension, the scale and the hidden widths (in order) are equal.</summary>
    public bool Equals(RoiHeadSpec? other) =>
        other is not null
        && Channels == other.Channels
        && PooledHeight == other.PooledHeight
        && PooledWidth == other.PooledWidth
        && SpatialScale.Equals(other.SpatialScale)
        && NumClasses == other.NumClasses
        && HiddenSizes.SequenceEqual(other.HiddenSizes);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Channels);
        hash.Add(PooledHeight);
        hash.Add(PooledWidth);
        hash.Add(SpatialScale);
        hash.Add(NumClasses);
        foreach (var size in HiddenSizes)
        {
            hash.Add(size);
        }

        return hash.ToHashCode();
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"Channels = {Channels}, PooledHeight = {PooledHeight}, PooledWidth = {PooledWidth}, ");
        builder.Append(CultureInfo.InvariantCulture,
            $"SpatialScale = {SpatialScale.ToString("R", CultureInfo.InvariantCulture)}, ");
        builder.Append(CultureInfo.InvariantCulture,
            $"HiddenSizes = [{string.Join(", ", HiddenSizes)}], NumClasses = {NumClasses}");
        return true;
    }

    private static int Positive(int value, string name) =>
        value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} is {value}; expected at least 1.");

    private static float Scale(float value, string name) =>
        float.IsFinite(value) && value > 0f
            ? value
            : throw new ArgumentOutOfRangeException(
                name, value,
                $"{name} is {value.ToString("R", CultureInfo.InvariantCulture)}; expected a finite number > 0.");

    // Runs after the other initializers, so every argument here has passed its own check.
    private static long CountParameters(int channels, int pooledHeight, int pooledWidth, IReadOnlyList<int> hidden, int numClasses)
    {
        var fanIn = (long)channels * pooledHeight * pooledWidth;
        var total = 0L;
        for (var i = 0; i < hidden.Count; i++)
        {
            total += Layer($"fc{6 + i}", hidden[i], fanIn);
            fanIn = hidden[i];
        }

        total += Layer("cls_score", numClasses + 1L, fanIn);
        total += Layer("bbox_pred", 4L * (numClasses + 1L), fanIn);
        return total;

        static long Layer(string name, long outputs, long inputs)
        {
            if (inputs > Array.MaxLength || outputs * inputs > Array.MaxLength)
            {
                throw new ArgumentException(
                    $"{name}.weight would be [{outputs}, {inputs}] = {outputs * inputs} floats; expected at most {Array.MaxLength} (one .NET array).");
            }

            return (outputs * inputs) + outputs;
        }
    }

    private static ReadOnlyCollection<int> Hidden(IReadOnlyList<int> sizes, string name)
    {
        ArgumentNullException.ThrowIfNull(sizes, name);
        var copy = sizes.ToArray();
        for (var i = 0; i < copy.Length; i++)
        {
            if (copy[i] < 1)
            {
                throw new ArgumentOutOfRangeException(
                    name, copy[i], $"{name}[{i}] is {copy[i]}; expected at least 1.");
            }
        }

        return Array.AsReadOnly(copy);
    }
}
