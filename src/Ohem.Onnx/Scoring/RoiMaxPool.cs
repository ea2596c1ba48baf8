using System.Buffers;
using System.Numerics.Tensors;

namespace Ohem.Onnx.Scoring;

/// <summary>
/// ONNX MaxRoiPool (ANCHORS.md; Caffe/Fast R-CNN RoI pooling as ONNX Runtime computes it) on the
/// host, vectorised across channels. ONNX Runtime's CPU kernel walks one channel at a time with a
/// scalar loop and costs as much as the head's largest GEMM; here the features are laid out
/// channels-last once per batch, so each bin is a running max over rows of C contiguous floats.
/// Same bin arithmetic in float32 as the kernel, so outputs are equal bit for bit (tested).
/// </summary>
internal static class RoiMaxPool
{
    /// <param name="features">[N, C, H, W].</param>
    /// <param name="rois">[R, 5]: batch index, x1, y1, x2, y2 in input-image pixels.</param>
    /// <param name="output">[R, C, pooledH, pooledW].</param>
    /// <param name="threads">RoIs are split over this many threads.</param>
    public static void Pool(
        ReadOnlySpan<float> features, int n, int c, int h, int w,
        ReadOnlySpan<float> rois, int pooledH, int pooledW, float scale,
        Span<float> output, int threads)
    {
        var r = rois.Length / 5;
        var channelsLast = ArrayPool<float>.Shared.Rent(n * h * w * c);
        var roiArray = ArrayPool<float>.Shared.Rent(Math.Max(rois.Length, 1));
        try
        {
            ToChannelsLast(features, n, c, h, w, channelsLast);
            rois.CopyTo(roiArray);
            var geometry = new Geometry(n, c, h, w, pooledH, pooledW, scale);
            if (threads <= 1 || r < 64)
            {
                PoolRange(channelsLast, roiArray, geometry, output, 0, r);
                return;
            }

            unsafe
            {
                fixed (float* o = output)
                {
                    var outputPointer = (nint)o;
                    var outputLength = output.Length;
                    var chunk = (r + threads - 1) / threads;
                    Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                    {
                        var start = t * chunk;
                        var end = Math.Min(r, start + chunk);
                        var span = new Span<float>((void*)outputPointer, outputLength);
                        PoolRange(channelsLast, roiArray, geometry, span, start, end);
                    });
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(channelsLast);
            ArrayPool<float>.Shared.Return(roiArray);
        }
    }

    private readonly record struct Geometry(int N, int C, int H, int W, int PooledH, int PooledW, float Scale);

    private static void PoolRange(float[] channelsLast, float[] rois, Geometry g, Span<float> output, int first, int end)
    {
        var bins = g.PooledH * g.PooledW;
        var binMax = ArrayPool<float>.Shared.Rent(bins * g.C); // [bin, C] for one RoI
        try
        {
            for (var i = first; i < end; i++)
            {
                PoolOne(channelsLast, rois.AsSpan(5 * i, 5), g, binMax.AsSpan(0, bins * g.C));
                // [bin, C] -> [C, bin]: the layout Flatten reads.
                var dest = output.Slice(i * g.C * bins, g.C * bins);
                for (var b = 0; b < bins; b++)
                {
                    var row = binMax.AsSpan(b * g.C, g.C);
                    for (var ch = 0; ch < g.C; ch++)
                    {
                        dest[ch * bins + b] = row[ch];
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(binMax);
        }
    }

    private static void PoolOne(float[] channelsLast, ReadOnlySpan<float> roi, Geometry g, Span<float> binMax)
    {
        // The kernel's arithmetic, in float32: round half away from zero, then floor/ceil of bins.
        var batch = (int)roi[0];
        var startW = (int)MathF.Round(roi[1] * g.Scale, MidpointRounding.AwayFromZero);
        var startH = (int)MathF.Round(roi[2] * g.Scale, MidpointRounding.AwayFromZero);
        var endW = (int)MathF.Round(roi[3] * g.Scale, MidpointRounding.AwayFromZero);
        var endH = (int)MathF.Round(roi[4] * g.Scale, MidpointRounding.AwayFromZero);
        var binH = Math.Max(endH - startH + 1, 1) / (float)g.PooledH;
        var binW = Math.Max(endW - startW + 1, 1) / (float)g.PooledW;
        var image = channelsLast.AsSpan(batch * g.H * g.W * g.C, g.H * g.W * g.C);
        for (var ph = 0; ph < g.PooledH; ph++)
        {
            var hs = Math.Clamp((int)MathF.Floor(ph * binH) + startH, 0, g.H);
            var he = Math.Clamp((int)MathF.Ceiling((ph + 1) * binH) + startH, 0, g.H);
            for (var pw = 0; pw < g.PooledW; pw++)
            {
                var ws = Math.Clamp((int)MathF.Floor(pw * binW) + startW, 0, g.W);
                var we = Math.Clamp((int)MathF.Ceiling((pw + 1) * binW) + startW, 0, g.W);
                var max = binMax.Slice((ph * g.PooledW + pw) * g.C, g.C);
                if (he <= hs || we <= ws)
                {
                    max.Clear(); // an empty bin gives 0
                    continue;
                }

                image.Slice((hs * g.W + ws) * g.C, g.C).CopyTo(max);
                for (var y = hs; y < he; y++)
                {
                    for (var x = y == hs ? ws + 1 : ws; x < we; x++)
                    {
                        TensorPrimitives.Max(max, image.Slice((y * g.W + x) * g.C, g.C), max);
                    }
                }
            }
        }
    }

    private static void ToChannelsLast(ReadOnlySpan<float> nchw, int n, int c, int h, int w, Span<float> nhwc)
    {
        var plane = h * w;
        for (var b = 0; b < n; b++)
        {
            for (var ch = 0; ch < c; ch++)
            {
                var source = nchw.Slice((b * c + ch) * plane, plane);
                var dest = nhwc.Slice(b * plane * c);
                for (var p = 0; p < plane; p++)
                {
                    dest[p * c + ch] = source[p];
                }
            }
        }
    }
}
