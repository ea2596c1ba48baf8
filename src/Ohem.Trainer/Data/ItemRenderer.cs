namespace Ohem.Trainer.Data;

/// <summary>A rectangle of a scratch buffer holding a rendered item: the tight region of a Width x Height image with row stride Stride.</summary>
internal readonly record struct Patch(int Stride, int X0, int Y0, int Width, int Height);

/// <summary>
/// Turns a Fashion-MNIST image into an item patch: its tight box (pixels above the threshold),
/// scaled bilinearly, then tightened again so the patch's edges hold item pixels (the drawn item
/// and its ground-truth box agree exactly).
/// </summary>
internal static class ItemRenderer
{
    /// <summary>Tight box of the source pixels above <paramref name="threshold"/> (0..1), inclusive; false when none is.</summary>
    public static bool SourceTightBox(ReadOnlySpan<byte> image, float threshold, out int c0, out int r0, out int c1, out int r1)
    {
        var cut = (int)MathF.Floor(threshold * 255f); // value / 255 > threshold  <=>  value > cut for integers
        c0 = r0 = int.MaxValue;
        c1 = r1 = -1;
        for (var r = 0; r < FashionMnist.Side; r++)
        {
            for (var c = 0; c < FashionMnist.Side; c++)
            {
                if (image[r * FashionMnist.Side + c] > cut)
                {
                    c0 = Math.Min(c0, c);
                    c1 = Math.Max(c1, c);
                    r0 = Math.Min(r0, r);
                    r1 = Math.Max(r1, r);
                }
            }
        }

        return c1 >= 0;
    }

    /// <summary>
    /// Scales the source's tight region <paramref name="sourceBox"/> (inclusive columns/rows) so its
    /// longer side is <paramref name="longSide"/> pixels, into <paramref name="buffer"/>
    /// (W x H intensities in [0, 1]); returns the patch tightened to pixels above the threshold.
    /// </summary>
    public static Patch Scale(ReadOnlySpan<byte> image, (int C0, int R0, int C1, int R1) sourceBox, int longSide, float threshold, Span<float> buffer)
    {
        var cw = sourceBox.C1 - sourceBox.C0 + 1;
        var ch = sourceBox.R1 - sourceBox.R0 + 1;
        var s = (float)longSide / Math.Max(cw, ch);
        var w = Math.Clamp((int)MathF.Round(cw * s), 1, longSide);
        var h = Math.Clamp((int)MathF.Round(ch * s), 1, longSide);
        var sx = (float)cw / w;
        var sy = (float)ch / h;
        for (var y = 0; y < h; y++)
        {
            // Pixel centres map to pixel centres (half-pixel convention), clamped at the edges.
            var fy = Math.Clamp((y + 0.5f) * sy - 0.5f, 0f, ch - 1);
            var y0 = (int)fy;
            var y1 = Math.Min(y0 + 1, ch - 1);
            var ty = fy - y0;
            var row0 = (sourceBox.R0 + y0) * FashionMnist.Side + sourceBox.C0;
            var row1 = (sourceBox.R0 + y1) * FashionMnist.Side + sourceBox.C0;
            for (var x = 0; x < w; x++)
            {
                var fx = Math.Clamp((x + 0.5f) * sx - 0.5f, 0f, cw - 1);
                var x0 = (int)fx;
                var x1 = Math.Min(x0 + 1, cw - 1);
                var tx = fx - x0;
                var top = image[row0 + x0] + tx * (image[row0 + x1] - image[row0 + x0]);
                var bottom = image[row1 + x0] + tx * (image[row1 + x1] - image[row1 + x0]);
                buffer[y * w + x] = (top + ty * (bottom - top)) * (1f / 255f);
            }
        }

        return Tighten(buffer, new Patch(w, 0, 0, w, h), threshold);
    }

    /// <summary>The smallest sub-rectangle of <paramref name="patch"/> holding every value above <paramref name="threshold"/>; empty (0 x 0) when none.</summary>
    public static Patch Tighten(ReadOnlySpan<float> buffer, Patch patch, float threshold)
    {
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (var y = 0; y < patch.Height; y++)
        {
            var row = buffer.Slice((patch.Y0 + y) * patch.Stride + patch.X0, patch.Width);
            for (var x = 0; x < row.Length; x++)
            {
                if (row[x] > threshold)
                {
                    x0 = Math.Min(x0, x);
                    x1 = Math.Max(x1, x);
                    y0 = Math.Min(y0, y);
                    y1 = Math.Max(y1, y);
                }
            }
        }

        return x1 < 0
            ? new Patch(patch.Stride, patch.X0, patch.Y0, 0, 0)
            : new Patch(patch.Stride, patch.X0 + x0, patch.Y0 + y0, x1 - x0 + 1, y1 - y0 + 1);
    }

    /// <summary>Max-blends <paramref name="patch"/> times <paramref name="contrast"/> onto the canvas with its top-left at (x, y).</summary>
    public static void Blend(Span<float> canvas, int size, ReadOnlySpan<float> buffer, Patch patch, int x, int y, float contrast)
    {
        for (var r = 0; r < patch.Height; r++)
        {
            var src = buffer.Slice((patch.Y0 + r) * patch.Stride + patch.X0, patch.Width);
            var dst = canvas.Slice((y + r) * size + x, patch.Width);
            for (var c = 0; c < src.Length; c++)
            {
                dst[c] = MathF.Max(dst[c], src[c] * contrast);
            }
        }
    }
}
