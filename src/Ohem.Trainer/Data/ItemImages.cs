namespace Ohem.Trainer.Data;

/// <summary>
/// Classification images for the backbone's pretraining (the stand-in for ImageNet): one
/// Fashion-MNIST item per small canvas, drawn exactly as the detection canvases draw items (same
/// scale range, contrast, background and noise; no distractors), labelled with the item's class
/// 0..9. Image i depends only on (seed, i, split): any order, any thread.
/// </summary>
public sealed class ItemImages
{
    /// <summary>Side of each image: the largest item (CanvasOptions.MaxObjectSize) fits.</summary>
    public const int Side = 64;

    private const ulong Stream = 0x4954454D53; // "ITEMS"

    private readonly CanvasGenerator _generator;

    private ItemImages(CanvasGenerator generator) => _generator = generator;

    /// <summary>
    /// Items of Fashion-MNIST "train" for training; <paramref name="heldOut"/> draws from the second
    /// half of "t10k" instead (the detection Test split's items, never the Validation split's).
    /// </summary>
    public static ItemImages Create(int seed, bool heldOut, string? directory = null)
    {
        var source = FashionMnist.Load(heldOut ? "t10k" : "train", directory);
        var items = heldOut ? new Range(source.Count / 2, source.Count) : Range.All;
        var options = new CanvasOptions { Size = Side, MinObjects = 1, MaxObjects = 1, HardNegativeRate = 0f };
        return new ItemImages(new CanvasGenerator(source, options, SeededRandom.DeriveSeed(seed, Stream, heldOut ? 1 : 0), items));
    }

    /// <summary>Writes images <paramref name="first"/>.. into <paramref name="pixels"/> ([count, 1, Side, Side]) and their classes.</summary>
    public void Fill(long first, Span<float> pixels, Span<int> labels)
    {
        var count = labels.Length;
        if (pixels.Length != count * Side * Side)
        {
            throw new ArgumentException($"pixels holds {pixels.Length} floats; {count} images of {Side}x{Side} need {count * Side * Side}.", nameof(pixels));
        }

        for (var i = 0; i < count; i++)
        {
            var canvas = _generator.Generate(checked((int)((first + i) % int.MaxValue)));
            canvas.Pixels.CopyTo(pixels.Slice(i * Side * Side, Side * Side));
            labels[i] = canvas.Classes[0] - 1;
        }
    }
}
