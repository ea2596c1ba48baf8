using Ohem.Trainer.Data;

namespace Ohem.Trainer.Imaging;

/// <summary>
/// An RGB picture to draw on: a canvas (optionally enlarged), boxes over it, and tiles pasted into a
/// gallery. Box coordinates are in the source's pixels; the image multiplies them by <see cref="Scale"/>.
/// </summary>
public sealed class RgbImage
{
    /// <param name="width">Width in image pixels.</param>
    /// <param name="height">Height in image pixels.</param>
    /// <param name="scale">Image pixels per source pixel, for boxes drawn on it.</param>
    public RgbImage(int width, int height, int scale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        Width = width;
        Height = height;
        Scale = scale;
        Pixels = new byte[3 * width * height];
    }

    public int Width { get; }

    public int Height { get; }

    public int Scale { get; }

    /// <summary>Width x Height x 3 bytes, row-major RGB.</summary>
    public byte[] Pixels { get; }

    /// <summary>A grey picture of <paramref name="intensities"/> (in [0, 1], clamped), each pixel a <paramref name="scale"/> x <paramref name="scale"/> block.</summary>
    public static RgbImage FromGrey(ReadOnlySpan<float> intensities, int width, int height, int scale = 1)
    {
        if (intensities.Length != width * height)
        {
            throw new ArgumentException($"intensities has {intensities.Length} values; expected width x height = {width} x {height}.", nameof(intensities));
        }

        var image = new RgbImage(width * scale, height * scale, scale);
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                var v = (byte)MathF.Round(255f * Math.Clamp(intensities[y / scale * width + x / scale], 0f, 1f));
                var p = 3 * (y * image.Width + x);
                image.Pixels[p] = image.Pixels[p + 1] = image.Pixels[p + 2] = v;
            }
        }

        return image;
    }

    /// <summary>The canvas's pixels, enlarged <paramref name="scale"/> times.</summary>
    public static RgbImage FromCanvas(Canvas canvas, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        return FromGrey(canvas.Pixels, canvas.Size, canvas.Size, scale);
    }

    /// <summary>
    /// Outlines the box (x1, y1, x2, y2 in source pixels) with <paramref name="thickness"/>-pixel lines
    /// blended at <paramref name="opacity"/> (1 = solid): a stronger colour or opacity marks what matters more.
    /// Parts outside the image are cut off.
    /// </summary>
    public void DrawBox(float x1, float y1, float x2, float y2, Rgb colour, float opacity = 1f, int thickness = 1)
    {
        if (!(opacity is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(opacity), opacity, "expected in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(thickness, 1);
        var left = (int)MathF.Floor(x1 * Scale);
        var top = (int)MathF.Floor(y1 * Scale);
        var right = Math.Max(left, (int)MathF.Ceiling(x2 * Scale) - 1);
        var bottom = Math.Max(top, (int)MathF.Ceiling(y2 * Scale) - 1);
        for (var t = 0; t < thickness; t++)
        {
            for (var x = left; x <= right; x++)
            {
                Blend(x, top + t, colour, opacity);
                Blend(x, bottom - t, colour, opacity);
            }

            for (var y = top + t + 1; y < bottom - t; y++)
            {
                Blend(left + t, y, colour, opacity);
                Blend(right - t, y, colour, opacity);
            }
        }
    }

    /// <summary>Copies <paramref name="tile"/> with its top-left corner at (x, y); parts outside are cut off.</summary>
    public void Paste(RgbImage tile, int x, int y)
    {
        ArgumentNullException.ThrowIfNull(tile);
        for (var ty = Math.Max(0, -y); ty < tile.Height && y + ty < Height; ty++)
        {
            var from = Math.Max(0, -x);
            var to = Math.Min(tile.Width, Width - x);
            if (to <= from)
            {
                return;
            }

            tile.Pixels.AsSpan(3 * (ty * tile.Width + from), 3 * (to - from))
                .CopyTo(Pixels.AsSpan(3 * ((y + ty) * Width + x + from)));
        }
    }

    /// <summary>Writes the picture as an RGB PNG.</summary>
    public void SavePng(string path) => PngWriter.Save(path, Width, Height, PngColor.Rgb, Pixels);

    /// <summary>The picture as RGB PNG bytes.</summary>
    public byte[] ToPng() => PngWriter.Encode(Width, Height, PngColor.Rgb, Pixels);

    private void Blend(int x, int y, Rgb colour, float opacity)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
        {
            return;
        }

        var p = 3 * (y * Width + x);
        Pixels[p] = Mix(Pixels[p], colour.R, opacity);
        Pixels[p + 1] = Mix(Pixels[p + 1], colour.G, opacity);
        Pixels[p + 2] = Mix(Pixels[p + 2], colour.B, opacity);
    }

    private static byte Mix(byte under, byte over, float opacity) => (byte)MathF.Round(under + opacity * (over - under));
}
