using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Ohem.Torch;

/// <summary>
/// RoI max pooling as ONNX MaxRoiPool computes it in ONNX Runtime (ANCHORS.md), as a TorchSharp
/// autograd function: the forward records each bin's argmax, the backward scatters the output
/// gradient to it (what torchvision.ops.roi_pool's backward does). Per axis:
/// start = round(x1 * scale), end = round(x2 * scale) (half away from zero); roi size =
/// max(end - start + 1, 1); bin = roi size / pooled (float); bin p covers
/// [floor(p * bin), ceil((p + 1) * bin)) + start clipped to the map; an empty bin is 0; the first
/// maximum in row-major order wins.
/// </summary>
internal sealed class RoiPooling : autograd.SingleTensorFunction<RoiPooling>
{
    public override string Name => "OhemRoiMaxPool";

    /// <summary>features [N, C, H, W] (float32, CPU), rois [R, 5] -> [R, C, pooledH, pooledW]; differentiable in the features.</summary>
    public static Tensor Pool(Tensor features, float[] rois, int pooledH, int pooledW, float spatialScale)
    {
        var geometry = Geometry.Of(features, rois, pooledH, pooledW, spatialScale);
        return is_grad_enabled() && features.requires_grad
            ? apply(features, geometry)
            : Forward(features, geometry, withArgmax: false).Output;
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var geometry = (Geometry)vars[1];
        var (output, argmax) = Forward((Tensor)vars[0], geometry, withArgmax: true);
        ctx.save_data("geometry", geometry);
        ctx.save_data("argmax", argmax!);
        return output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var geometry = (Geometry)ctx.get_data("geometry");
        var argmax = (int[])ctx.get_data("argmax");
        var gradient = new float[(long)geometry.N * geometry.C * geometry.H * geometry.W];
        var upstream = Floats(grad_output.contiguous().to(ScalarType.Float32));
        Scatter(geometry, argmax, upstream, gradient);
        // One gradient per argument of apply: the features, then none for the geometry.
        return [tensor(gradient, [geometry.N, geometry.C, geometry.H, geometry.W]), null!];
    }

    /// <summary>The forward on plain arrays (the tests hold it to ONNX Runtime).</summary>
    public static void Forward(
        ReadOnlySpan<float> features, int n, int c, int h, int w, ReadOnlySpan<float> rois,
        int pooledH, int pooledW, float spatialScale, Span<float> output)
    {
        Check(features, n, c, h, w, rois, pooledH, pooledW, output.Length, nameof(output));
        var featureValues = features.ToArray();
        var roiValues = rois.ToArray();
        var result = TorchException.Wrap("roi max pool", () =>
        {
            TorchRuntime.Enter();
            using var scope = NewDisposeScope();
            return Floats(Pool(tensor(featureValues, [n, c, h, w]), roiValues, pooledH, pooledW, spatialScale)).ToArray();
        });
        result.CopyTo(output);
    }

    /// <summary>The gradient of sum(output * gradOutput) w.r.t. features, through the autograd function.</summary>
    public static void Backward(
        ReadOnlySpan<float> features, int n, int c, int h, int w, ReadOnlySpan<float> rois,
        int pooledH, int pooledW, float spatialScale, ReadOnlySpan<float> gradOutput, Span<float> gradFeatures)
    {
        var count = Check(features, n, c, h, w, rois, pooledH, pooledW, gradOutput.Length, nameof(gradOutput));
        HeadInputChecks.Length(gradFeatures.Length, features.Length, nameof(gradFeatures), "[n, c, h, w]");
        var featureValues = features.ToArray();
        var roiValues = rois.ToArray();
        var upstream = gradOutput.ToArray();
        var result = TorchException.Wrap("roi max pool backward", () =>
        {
            TorchRuntime.Enter();
            using var scope = NewDisposeScope();
            var input = tensor(featureValues, [n, c, h, w]).requires_grad_(true);
            var pooled = Pool(input, roiValues, pooledH, pooledW, spatialScale);
            pooled.backward([tensor(upstream, [count, c, pooledH, pooledW])]);
            return Floats(input.grad!).ToArray();
        });
        result.CopyTo(gradFeatures);
    }

    /// <summary>The values of a contiguous CPU float32 tensor, in place.</summary>
    internal static Span<float> Floats(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

    private static int Check(
        ReadOnlySpan<float> features, int n, int c, int h, int w, ReadOnlySpan<float> rois, int pooledH, int pooledW,
        int pooledLength, string pooledName)
    {
        HeadInputChecks.Length(features.Length, (long)n * c * h * w, nameof(features), $"[{n}, {c}, {h}, {w}]");
        if (rois.Length % 5 != 0)
        {
            throw new ArgumentException($"rois holds {rois.Length} floats; expected [R, 5].", nameof(rois));
        }

        var count = rois.Length / 5;
        HeadInputChecks.Length(pooledLength, (long)count * c * pooledH * pooledW, pooledName, $"[{count}, {c}, {pooledH}, {pooledW}]");
        return count;
    }

    private static (Tensor Output, int[]? Argmax) Forward(Tensor features, Geometry g, bool withArgmax)
    {
        // Channels last [N, H, W, C]: each step of a bin is a running max over C contiguous floats.
        using var channelsLast = features.detach().permute(0, 2, 3, 1).contiguous();
        var input = Floats(channelsLast).ToArray();
        var bins = g.PooledH * g.PooledW;
        var output = new float[(long)g.Count * g.C * bins];
        var argmax = withArgmax ? new int[output.Length] : null;
        Parallel.For(0, g.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) }, r =>
            PoolRoi(input, g, r, output, argmax));
        return (tensor(output, [g.Count, g.C, g.PooledH, g.PooledW]), argmax);
    }

    private static void PoolRoi(float[] input, Geometry g, int r, float[] output, int[]? argmax)
    {
        var bins = g.PooledH * g.PooledW;
        var channels = g.C;
        // Rented, not allocated: a step pools hundreds of RoIs and evaluation thousands.
        var max = ArrayPool<float>.Shared.Rent(bins * channels);
        var at = ArrayPool<int>.Shared.Rent(bins * channels);
        try
        {
            PoolRoi(input, g, r, output, argmax, max, at);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(max);
            ArrayPool<int>.Shared.Return(at);
        }
    }

    private static void PoolRoi(float[] input, Geometry g, int r, float[] output, int[]? argmax, float[] max, int[] at)
    {
        var bins = g.PooledH * g.PooledW;
        var channels = g.C;
        var (rowFirst, rowLast) = Edges(g.Rois[(5 * r) + 2], g.Rois[(5 * r) + 4], g.Scale, g.PooledH, g.H);
        var (colFirst, colLast) = Edges(g.Rois[(5 * r) + 1], g.Rois[(5 * r) + 3], g.Scale, g.PooledW, g.W);
        var image = (long)g.Batch[r] * g.H * g.W * channels;
        var lanes = Vector<float>.Count;
        for (var ph = 0; ph < g.PooledH; ph++)
        {
            for (var pw = 0; pw < g.PooledW; pw++)
            {
                var m = max.AsSpan(((ph * g.PooledW) + pw) * channels, channels);
                var a = at.AsSpan(((ph * g.PooledW) + pw) * channels, channels);
                var empty = rowLast[ph] <= rowFirst[ph] || colLast[pw] <= colFirst[pw];
                m.Fill(empty ? 0f : float.MinValue);
                a.Fill(-1);
                for (var y = rowFirst[ph]; y < rowLast[ph]; y++)
                {
                    for (var x = colFirst[pw]; x < colLast[pw]; x++)
                    {
                        var v = input.AsSpan((int)(image + (((long)y * g.W) + x) * channels), channels);
                        var index = (y * g.W) + x;
                        var c = 0;
                        var indices = new Vector<int>(index);
                        for (; c <= channels - lanes; c += lanes)
                        {
                            var value = new Vector<float>(v[c..]);
                            var best = new Vector<float>(m[c..]);
                            var greater = Vector.GreaterThan(value, best);
                            Vector.ConditionalSelect(greater, value, best).CopyTo(m[c..]);
                            Vector.ConditionalSelect(greater, indices, new Vector<int>(a[c..])).CopyTo(a[c..]);
                        }

                        for (; c < channels; c++)
                        {
                            if (v[c] > m[c])
                            {
                                m[c] = v[c];
                                a[c] = index;
                            }
                        }
                    }
                }
            }
        }

        // [bin, C] -> [C, bin]: the output's layout (and the order ONNX's Flatten reads).
        for (var c = 0; c < channels; c++)
        {
            for (var b = 0; b < bins; b++)
            {
                var to = (((long)r * channels) + c) * bins + b;
                output[to] = max[(b * channels) + c];
                if (argmax is not null)
                {
                    argmax[to] = at[(b * channels) + c];
                }
            }
        }
    }

    private static (int[] First, int[] Last) Edges(float from, float to, float scale, int pooled, int extent)
    {
        var start = (int)MathF.Round(from * scale, MidpointRounding.AwayFromZero);
        var end = (int)MathF.Round(to * scale, MidpointRounding.AwayFromZero);
        var bin = Math.Max(end - start + 1, 1) / (float)pooled;
        var first = new int[pooled];
        var last = new int[pooled];
        for (var p = 0; p < pooled; p++)
        {
            first[p] = (int)Math.Clamp((long)MathF.Floor(p * bin) + start, 0, extent);
            last[p] = (int)Math.Clamp((long)MathF.Ceiling((p + 1) * bin) + start, 0, extent);
        }

        return (first, last);
    }

    // gradient[b(r), c, argmax] += upstream[r, c, bin] for every RoI, channel and non-empty bin. RoIs
    // of one image overlap: threads split channels, each (n, c) plane is summed by one thread in RoI
    // order, so the sums are deterministic.
    private static void Scatter(Geometry g, int[] argmax, Span<float> upstream, float[] gradient)
    {
        var bins = g.PooledH * g.PooledW;
        var plane = g.H * g.W;
        var values = upstream.ToArray();
        Parallel.For(0, g.C, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) }, c =>
        {
            for (var r = 0; r < g.Count; r++)
            {
                var from = (((long)r * g.C) + c) * bins;
                var to = (((long)g.Batch[r] * g.C) + c) * plane;
                for (var b = 0; b < bins; b++)
                {
                    var at = argmax[from + b];
                    if (at >= 0)
                    {
                        gradient[to + at] += values[from + b];
                    }
                }
            }
        });
    }

    /// <summary>One call's shapes, RoIs and their batch indices (checked against N).</summary>
    private sealed record Geometry(int N, int C, int H, int W, int PooledH, int PooledW, float Scale, float[] Rois, int[] Batch)
    {
        public int Count => Batch.Length;

        public static Geometry Of(Tensor features, float[] rois, int pooledH, int pooledW, float scale)
        {
            if (features.dim() != 4 || features.dtype != ScalarType.Float32)
            {
                throw new ArgumentException($"features must be float32 [N, C, H, W]; got {features.dtype} [{string.Join(", ", features.shape)}].", nameof(features));
            }

            if (pooledH < 1 || pooledW < 1)
            {
                throw new ArgumentException($"the pooled size must be at least 1x1; got {pooledH}x{pooledW}.");
            }

            var n = (int)features.shape[0];
            var h = (int)features.shape[2];
            var w = (int)features.shape[3];
            var batch = new int[rois.Length / 5];
            for (var r = 0; r < batch.Length; r++)
            {
                var b = rois[5 * r];
                if (!(b >= 0f && b < n))
                {
                    throw new EngineException($"rois[{r}, 0] (batch index) is {b}; expected 0..{n - 1}");
                }

                batch[r] = (int)b;
            }

            return new Geometry(n, (int)features.shape[1], h, w, pooledH, pooledW, scale, rois, batch);
        }
    }
}
