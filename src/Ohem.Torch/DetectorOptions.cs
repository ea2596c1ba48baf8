using System.Globalization;

namespace Ohem.Torch;

/// <summary>
/// The shape and optimiser of a Fast R-CNN style <see cref="Detector"/>: a backbone of conv3x3 +
/// ReLU layers (a 2x2 max pool after each of the first log2(<see cref="Stride"/>)), RoI max
/// pooling to <see cref="PooledSize"/>², hidden layers fc6, fc7, ... and the K + 1 way classifier
/// with class-specific box deltas. Checked by <see cref="Detector.Create"/>.
/// Defaults: the trainer's detector for the bundled 128x128 canvases (a 32x32 feature map), small
/// enough to learn them in a few minutes on 2 cores.
/// </summary>
public sealed record DetectorOptions
{
    /// <summary>Channels of the input images (1 for grey).</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Output channels of each backbone conv, in order; the last is the feature map's.</summary>
    public IReadOnlyList<int> BackboneChannels { get; init; } = [32, 64, 64];

    /// <summary>Image pixels per feature cell: a power of two; needs log2(Stride) backbone convs.</summary>
    public int Stride { get; init; } = 4;

    /// <summary>RoI pooling bins per side.</summary>
    public int PooledSize { get; init; } = 7;

    /// <summary>Widths of fc6, fc7, ...; may be empty (a linear head on the pooled features).</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [128, 128];

    /// <summary>K, the object classes (background not counted).</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>SGD momentum, in [0, 1).</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>SGD weight decay (L2, on every parameter as torch.optim.SGD applies it), &gt;= 0.</summary>
    public float WeightDecay { get; init; } = 5e-4f;

    /// <summary>Seeds the parameter initialisation: the same options give the same parameters.</summary>
    public int Seed { get; init; }

    /// <summary>Feature map size over image size, the RoI pooling's spatial scale.</summary>
    public float SpatialScale => 1f / Stride;

    /// <summary>C of the feature maps: the last backbone conv's channels.</summary>
    public int FeatureChannels => BackboneChannels[^1];

    /// <summary>The number of 2x2 max pools in the backbone: log2(<see cref="Stride"/>).</summary>
    public int PoolCount => int.Log2(Stride);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that is out of range.</summary>
    public void Validate()
    {
        Positive(InputChannels, nameof(InputChannels));
        Widths(BackboneChannels, nameof(BackboneChannels), allowEmpty: false);
        if (Stride < 1 || !int.IsPow2(Stride))
        {
            throw Invalid(nameof(Stride), $"is {Stride}; expected a power of two (4, 8, 16, ...)");
        }

        if (PoolCount > BackboneChannels.Count)
        {
            throw Invalid(nameof(Stride), $"is {Stride}, which needs {PoolCount} backbone convs (a 2x2 pool after each); "
                + $"BackboneChannels has {BackboneChannels.Count}");
        }

        Positive(PooledSize, nameof(PooledSize));
        Widths(HiddenSizes, nameof(HiddenSizes), allowEmpty: true);
        Positive(NumClasses, nameof(NumClasses));
        if (!(Momentum >= 0f && Momentum < 1f))
        {
            throw Invalid(nameof(Momentum), $"is {Format(Momentum)}; expected a number in [0, 1)");
        }

        if (!(WeightDecay >= 0f && float.IsFinite(WeightDecay)))
        {
            throw Invalid(nameof(WeightDecay), $"is {Format(WeightDecay)}; expected a finite number >= 0");
        }
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw Invalid(name, $"is {value}; expected at least 1");
        }
    }

    private static void Widths(IReadOnlyList<int>? widths, string name, bool allowEmpty)
    {
        if (widths is null || (!allowEmpty && widths.Count == 0))
        {
            throw Invalid(name, widths is null ? "is null" : "is empty; expected at least one layer");
        }

        for (var i = 0; i < widths.Count; i++)
        {
            if (widths[i] < 1)
            {
                throw Invalid($"{name}[{i}]", $"is {widths[i]}; expected at least 1");
            }
        }
    }

    private static ArgumentException Invalid(string field, string problem) =>
        new($"DetectorOptions.{field} {problem}.", field);

    private static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
