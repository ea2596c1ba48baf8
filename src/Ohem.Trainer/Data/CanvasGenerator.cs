namespace Ohem.Trainer.Data;

/// <summary>
/// Draws detection canvases from Fashion-MNIST items. Canvas i depends only on (seed, i, options,
/// source range): any order, any thread, same pixels. Thread-safe.
/// </summary>
/// <remarks>
/// Items: a source image's tight box (pixels above <see cref="CanvasOptions.ItemThreshold"/>)
/// is scaled bilinearly so its longer side is in [MinObjectSize, MaxObjectSize], tightened again,
/// and max-blended at a position whose box overlaps earlier items' with IoU below
/// <see cref="CanvasOptions.MaxOverlapIou"/> and covers at most <see cref="CanvasOptions.MaxCovered"/> of either; the ground-truth box is that tight patch's box.
/// Backgrounds are easy (dark base, smooth gradient, low noise). With probability
/// <see cref="CanvasOptions.HardNegativeRate"/> a canvas also gets 1..MaxHardNegatives hard
/// negatives (<see cref="HardNegativeKind"/>, equal shares), recorded in
/// <see cref="Canvas.Distractors"/>; free ones never intersect an object's box, near-misses touch one.
/// </remarks>
public sealed class CanvasGenerator
{
    private const ulong CanvasStream = 0x43414E5641535F31; // "CANVAS_1"
    private const int PlacementTries = 50;
    private const float MinFragmentFraction = 0.3f;
    private const float MaxFragmentFraction = 0.5f;

    private readonly FashionMnist _source;
    private readonly int _seed;
    private readonly int _sourceStart;
    private readonly int _sourceCount;

    public CanvasGenerator(FashionMnist source, CanvasOptions options, int seed)
        : this(source, options, seed, Range.All)
    {
    }

    /// <summary>A generator that draws items only from <paramref name="sourceItems"/> of <paramref name="source"/>.</summary>
    public CanvasGenerator(FashionMnist source, CanvasOptions options, int seed, Range sourceItems)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int start, count;
        try
        {
            (start, count) = sourceItems.GetOffsetAndLength(source.Count);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"sourceItems {sourceItems} is outside the {source.Count} images of {source.Split}.", nameof(sourceItems), e);
        }

        if (count == 0)
        {
            throw new ArgumentException($"sourceItems {sourceItems} selects no image of {source.Split}.", nameof(sourceItems));
        }

        _source = source;
        Options = options;
        _seed = seed;
        _sourceStart = start;
        _sourceCount = count;
    }

    public CanvasOptions Options { get; }

    public int Seed => _seed;

    /// <summary>The source images items are drawn from: [Start, Start + Count).</summary>
    public (int Start, int Count) SourceItems => (_sourceStart, _sourceCount);

    /// <summary>Canvas <paramref name="index"/> (&gt;= 0).</summary>
    public Canvas Generate(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var o = Options;
        var rng = new SeededRandom(_seed, CanvasStream, index);
        var size = o.Size;
        var pixels = new float[size * size];
        DrawBackground(pixels, size, ref rng);

        // One scratch buffer, large enough for any patch (items are at most MaxObjectSize a side).
        var scratch = new float[o.MaxObjectSize * o.MaxObjectSize];
        var wanted = rng.NextInclusive(o.MinObjects, o.MaxObjects);
        var boxes = new List<float>(4 * wanted);
        var classes = new List<int>(wanted);
        for (var k = 0; k < wanted; k++)
        {
            PlaceItem(pixels, scratch, boxes, classes, ref rng);
        }

        var distractors = new List<float>();
        var kinds = new List<HardNegativeKind>();
        if (rng.NextFloat() < o.HardNegativeRate)
        {
            var count = rng.NextInclusive(1, o.MaxHardNegatives);
            for (var k = 0; k < count; k++)
            {
                var kind = (HardNegativeKind)rng.Next(3);
                PlaceHardNegative(kind, pixels, scratch, boxes, distractors, kinds, ref rng);
            }
        }

        return new Canvas(size, pixels, [.. boxes], [.. classes], [.. distractors], [.. kinds]);
    }

    private void DrawBackground(Span<float> pixels, int size, ref SeededRandom rng)
    {
        var o = Options;
        var level = rng.Uniform(0f, o.BackgroundLevel);
        var amplitude = rng.Uniform(0f, o.GradientAmplitude);
        var angle = rng.Uniform(0f, 2f * MathF.PI);
        var std = o.NoiseStd * rng.Uniform(0.5f, 1f);
        var (gx, gy) = (MathF.Cos(angle) / (size * MathF.Sqrt(2f)), MathF.Sin(angle) / (size * MathF.Sqrt(2f)));
        var centre = 0.5f * size;
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var t = (x - centre) * gx + (y - centre) * gy + 0.5f; // in [0, 1] across the canvas
                // Sum of three uniforms: a cheap bell-shaped noise with unit variance after scaling.
                var noise = (rng.NextFloat() + rng.NextFloat() + rng.NextFloat() - 1.5f) * 2f * std;
                pixels[y * size + x] = Math.Clamp(level + amplitude * t + noise, 0f, 1f);
            }
        }
    }

    private void PlaceItem(float[] pixels, float[] scratch, List<float> boxes, List<int> classes, ref SeededRandom rng)
    {
        var o = Options;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var image = PickSource(ref rng, out var label, out var box);
            // After a failed attempt, try smaller: a crowded canvas still fits a small item.
            var longSide = attempt == 0 ? rng.NextInclusive(o.MinObjectSize, o.MaxObjectSize) : o.MinObjectSize;
            var patch = ScaleAtLeastMin(image, box, longSide, scratch);
            if (patch.Width == 0)
            {
                continue;
            }

            for (var t = 0; t < PlacementTries; t++)
            {
                var x = rng.Next(o.Size - patch.Width + 1);
                var y = rng.Next(o.Size - patch.Height + 1);
                float x1 = x, y1 = y, x2 = x + patch.Width, y2 = y + patch.Height;
                if (TooClose(boxes, x1, y1, x2, y2))
                {
                    continue;
                }

                ItemRenderer.Blend(pixels, o.Size, scratch, patch, x, y, rng.Uniform(o.MinContrast, 1f));
                boxes.AddRange([x1, y1, x2, y2]);
                classes.Add(label + 1);
                return;
            }
        }
    }

    /// <summary>Scales to <paramref name="longSide"/>, growing it when tightening leaves the longer side below MinObjectSize.</summary>
    private Patch ScaleAtLeastMin(ReadOnlySpan<byte> image, (int, int, int, int) box, int longSide, Span<float> scratch)
    {
        var o = Options;
        while (true)
        {
            var patch = ItemRenderer.Scale(image, box, longSide, o.ItemThreshold, scratch);
            if (Math.Max(patch.Width, patch.Height) >= o.MinObjectSize || longSide >= o.MaxObjectSize)
            {
                return Math.Max(patch.Width, patch.Height) >= o.MinObjectSize ? patch : default;
            }

            longSide++;
        }
    }

    private ReadOnlySpan<byte> PickSource(ref SeededRandom rng, out int label, out (int, int, int, int) box)
    {
        for (var tries = 0; tries < 10_000; tries++)
        {
            var index = _sourceStart + rng.Next(_sourceCount);
            var image = _source.Image(index);
            if (ItemRenderer.SourceTightBox(image, Options.ItemThreshold, out var c0, out var r0, out var c1, out var r1))
            {
                label = _source.Label(index);
                box = (c0, r0, c1, r1);
                return image;
            }
        }

        throw new InvalidOperationException(
            $"{_source.Split} images {_sourceStart}..{_sourceStart + _sourceCount - 1} hold no pixel above ItemThreshold = {Options.ItemThreshold}.");
    }

    private void PlaceHardNegative(
        HardNegativeKind kind, float[] pixels, float[] scratch, List<float> objects,
        List<float> distractors, List<HardNegativeKind> kinds, ref SeededRandom rng)
    {
        var o = Options;
        if (kind == HardNegativeKind.NearMiss && objects.Count == 0)
        {
            kind = HardNegativeKind.Fragment;
        }

        var nearObject = kind == HardNegativeKind.NearMiss ? rng.Next(objects.Count / 4) : -1;
        var longSide = nearObject >= 0
            ? (int)MathF.Max(objects[4 * nearObject + 2] - objects[4 * nearObject], objects[4 * nearObject + 3] - objects[4 * nearObject + 1])
            : rng.NextInclusive(o.MinObjectSize, o.MaxObjectSize);
        var patch = kind == HardNegativeKind.Texture ? RenderTexture(scratch, ref rng) : RenderFragment(longSide, scratch, ref rng);
        if (patch.Width == 0)
        {
            return;
        }

        var contrast = rng.Uniform(o.MinContrast, 1f);
        for (var t = 0; t < PlacementTries; t++)
        {
            int x, y;
            if (nearObject >= 0)
            {
                (x, y) = NextToObject(objects, nearObject, patch, ref rng);
            }
            else
            {
                x = rng.Next(o.Size - patch.Width + 1);
                y = rng.Next(o.Size - patch.Height + 1);
            }

            float x1 = x, y1 = y, x2 = x + patch.Width, y2 = y + patch.Height;
            if (x < 0 || y < 0 || x2 > o.Size || y2 > o.Size
                || Intersects(objects, x1, y1, x2, y2) || Intersects(distractors, x1, y1, x2, y2))
            {
                continue;
            }

            ItemRenderer.Blend(pixels, o.Size, scratch, patch, x, y, contrast);
            distractors.AddRange([x1, y1, x2, y2]);
            kinds.Add(kind);
            return;
        }
    }

    /// <summary>A position touching one side of object <paramref name="j"/> (gap 0 or 1 pixel), overlapping its extent along that side.</summary>
    private static (int X, int Y) NextToObject(List<float> objects, int j, Patch patch, ref SeededRandom rng)
    {
        int ox1 = (int)objects[4 * j], oy1 = (int)objects[4 * j + 1], ox2 = (int)objects[4 * j + 2], oy2 = (int)objects[4 * j + 3];
        var gap = rng.Next(2);
        var alongX = rng.NextInclusive(ox1 - patch.Width / 2, ox2 - patch.Width / 2);
        var alongY = rng.NextInclusive(oy1 - patch.Height / 2, oy2 - patch.Height / 2);
        return rng.Next(4) switch
        {
            0 => (ox1 - gap - patch.Width, alongY), // left
            1 => (ox2 + gap, alongY), // right
            2 => (alongX, oy1 - gap - patch.Height), // above
            _ => (alongX, oy2 + gap), // below
        };
    }

    /// <summary>A piece (30-50% of each side) of an item scaled to <paramref name="longSide"/>, tightened.</summary>
    private Patch RenderFragment(int longSide, Span<float> scratch, ref SeededRandom rng)
    {
        var o = Options;
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var image = PickSource(ref rng, out _, out var box);
            var item = ItemRenderer.Scale(image, box, Math.Clamp(longSide, 4, o.MaxObjectSize), o.ItemThreshold, scratch);
            var w = Math.Max(1, (int)MathF.Round(item.Width * rng.Uniform(MinFragmentFraction, MaxFragmentFraction)));
            var h = Math.Max(1, (int)MathF.Round(item.Height * rng.Uniform(MinFragmentFraction, MaxFragmentFraction)));
            var piece = new Patch(item.Stride, item.X0 + rng.Next(item.Width - w + 1), item.Y0 + rng.Next(item.Height - h + 1), w, h);
            piece = ItemRenderer.Tighten(scratch, piece, o.ItemThreshold);
            if (piece.Width >= 3 && piece.Height >= 3)
            {
                return piece;
            }
        }

        return default;
    }

    /// <summary>An elliptical patch of stripes (period 3-8 px, any angle) with an item's intensity and a size from 0.75 x the item range.</summary>
    private Patch RenderTexture(Span<float> scratch, ref SeededRandom rng)
    {
        var o = Options;
        var low = Math.Max(4, (int)(0.75f * o.MinObjectSize));
        var high = Math.Max(low, (int)(0.75f * o.MaxObjectSize));
        var w = rng.NextInclusive(low, high);
        var h = rng.NextInclusive(low, high);
        var period = rng.Uniform(3f, 8f);
        var angle = rng.Uniform(0f, MathF.PI);
        var phase = rng.Uniform(0f, 2f * MathF.PI);
        var amplitude = rng.Uniform(0.4f, 0.9f);
        var (kx, ky) = (2f * MathF.PI * MathF.Cos(angle) / period, 2f * MathF.PI * MathF.Sin(angle) / period);
        for (var y = 0; y < h; y++)
        {
            var ey = (y + 0.5f - 0.5f * h) / (0.5f * h);
            for (var x = 0; x < w; x++)
            {
                var ex = (x + 0.5f - 0.5f * w) / (0.5f * w);
                var inside = ex * ex + ey * ey <= 1f;
                scratch[y * w + x] = inside ? amplitude * (0.55f + 0.45f * MathF.Sin(kx * x + ky * y + phase)) : 0f;
            }
        }

        return ItemRenderer.Tighten(scratch, new Patch(w, 0, 0, w, h), o.ItemThreshold);
    }

    /// <summary>True when the box overlaps an earlier item's with IoU &gt;= MaxOverlapIou, or either covers more than MaxCovered of the other.</summary>
    private bool TooClose(List<float> boxes, float x1, float y1, float x2, float y2)
    {
        var area = (x2 - x1) * (y2 - y1);
        for (var k = 0; k < boxes.Count; k += 4)
        {
            var iw = MathF.Max(0f, MathF.Min(x2, boxes[k + 2]) - MathF.Max(x1, boxes[k]));
            var ih = MathF.Max(0f, MathF.Min(y2, boxes[k + 3]) - MathF.Max(y1, boxes[k + 1]));
            var inter = iw * ih;
            var other = (boxes[k + 2] - boxes[k]) * (boxes[k + 3] - boxes[k + 1]);
            if (inter >= Options.MaxOverlapIou * (area + other - inter) || inter > Options.MaxCovered * MathF.Min(area, other))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Intersects(List<float> boxes, float x1, float y1, float x2, float y2)
    {
        for (var k = 0; k < boxes.Count; k += 4)
        {
            if (MathF.Min(x2, boxes[k + 2]) > MathF.Max(x1, boxes[k]) && MathF.Min(y2, boxes[k + 3]) > MathF.Max(y1, boxes[k + 1]))
            {
                return true;
            }
        }

        return false;
    }
}
