namespace Ohem.Trainer.Data;

/// <summary>
/// How detection canvases are drawn. Defaults: 128x128 canvases with 1-4 Fashion-MNIST items whose
/// longer side is 24-64 pixels, overlapping each other with IoU below 0.3 and covering at most half of each other, on easy backgrounds (dark,
/// a smooth gradient, low noise). A canvas carries hard negatives with probability
/// <see cref="HardNegativeRate"/> (default 0.2: one canvas in five carries 1 or 2 hard negatives,
/// fragment, texture or near-miss in equal shares; four in five are easy).
/// </summary>
public sealed record CanvasOptions
{
    /// <summary>Canvas width and height in pixels.</summary>
    public int Size { get; init; } = 128;

    /// <summary>
    /// Items per canvas are drawn uniformly from [MinObjects, MaxObjects]. An item that finds no
    /// place within the overlap limits after 200 tries is left out, so a crowded configuration may
    /// give fewer than MinObjects; the first item always fits.
    /// </summary>
    public int MinObjects { get; init; } = 1;

    public int MaxObjects { get; init; } = 4;

    /// <summary>Smallest longer side of an item, in pixels.</summary>
    public int MinObjectSize { get; init; } = 24;

    /// <summary>Largest longer side of an item, in pixels; at most <see cref="Size"/>.</summary>
    public int MaxObjectSize { get; init; } = 64;

    /// <summary>Items are placed so that their boxes overlap earlier items' with IoU below this.</summary>
    public float MaxOverlapIou { get; init; } = 0.3f;

    /// <summary>No item's box is covered by an earlier item's box over more than this fraction of its area (no item hidden inside another).</summary>
    public float MaxCovered { get; init; } = 0.5f;

    /// <summary>Probability that a canvas carries hard negatives (then 1..<see cref="MaxHardNegatives"/> of them).</summary>
    public float HardNegativeRate { get; init; } = 0.2f;

    public int MaxHardNegatives { get; init; } = 2;

    /// <summary>The background's base intensity is drawn from [0, this].</summary>
    public float BackgroundLevel { get; init; } = 0.12f;

    /// <summary>The background's linear gradient spans up to this much intensity across the canvas.</summary>
    public float GradientAmplitude { get; init; } = 0.1f;

    /// <summary>Standard deviation of the background's pixel noise (drawn per canvas from [half, all] of this).</summary>
    public float NoiseStd { get; init; } = 0.03f;

    /// <summary>A source pixel belongs to the item when its intensity (0..1) is above this: defines the tight box.</summary>
    public float ItemThreshold { get; init; } = 0.1f;

    /// <summary>Items are drawn at an intensity scale from [this, 1].</summary>
    public float MinContrast { get; init; } = 0.6f;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        Require(Size is >= 16 and <= 4096, nameof(Size), Size, "in [16, 4096]");
        Require(MinObjects >= 1, nameof(MinObjects), MinObjects, ">= 1");
        Require(MaxObjects >= MinObjects && MaxObjects <= 64, nameof(MaxObjects), MaxObjects, $"in [MinObjects = {MinObjects}, 64]");
        Require(MinObjectSize >= 4, nameof(MinObjectSize), MinObjectSize, ">= 4");
        Require(MaxObjectSize >= MinObjectSize && MaxObjectSize <= Size, nameof(MaxObjectSize), MaxObjectSize, $"in [MinObjectSize = {MinObjectSize}, Size = {Size}]");
        Require(MaxOverlapIou is > 0f and <= 1f, nameof(MaxOverlapIou), MaxOverlapIou, "in (0, 1]");
        Require(MaxCovered is > 0f and <= 1f, nameof(MaxCovered), MaxCovered, "in (0, 1]");
        Require(HardNegativeRate is >= 0f and <= 1f, nameof(HardNegativeRate), HardNegativeRate, "in [0, 1]");
        Require(MaxHardNegatives >= 1, nameof(MaxHardNegatives), MaxHardNegatives, ">= 1");
        Require(BackgroundLevel is >= 0f and <= 0.5f, nameof(BackgroundLevel), BackgroundLevel, "in [0, 0.5]");
        Require(GradientAmplitude is >= 0f and <= 0.5f, nameof(GradientAmplitude), GradientAmplitude, "in [0, 0.5]");
        Require(NoiseStd is >= 0f and <= 0.5f, nameof(NoiseStd), NoiseStd, "in [0, 0.5]");
        Require(ItemThreshold is > 0f and < 1f, nameof(ItemThreshold), ItemThreshold, "in (0, 1)");
        Require(MinContrast is > 0f and <= 1f, nameof(MinContrast), MinContrast, "in (0, 1]");
    }

    private static void Require(bool ok, string field, object value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentException($"CanvasOptions.{field} is {value}; expected {expected}.", field);
        }
    }
}
