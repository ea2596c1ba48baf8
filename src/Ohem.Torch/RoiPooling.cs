using Ohem.Torch.Native;

namespace Ohem.Torch;

/// <summary>
/// The shim's RoI max pooling on its own (ONNX MaxRoiPool semantics, ANCHORS.md), forward and the
/// autograd backward: for the tests that hold it to ONNX Runtime and to a reference scatter.
/// </summary>
internal static unsafe class RoiPooling
{
    /// <summary>features [n, c, h, w], rois [R, 5] -> output [R, c, pooledH, pooledW].</summary>
    public static void Forward(
        ReadOnlySpan<float> features, int n, int c, int h, int w, ReadOnlySpan<float> rois,
        int pooledH, int pooledW, float spatialScale, Span<float> output)
    {
        var count = Check(features, n, c, h, w, rois, pooledH, pooledW, output.Length, nameof(output));
        fixed (float* f = features)
        fixed (float* r = rois)
        fixed (float* o = output)
        {
            TorchNative.Check(TorchNative.ohem_roi_max_pool(f, n, c, h, w, r, count, pooledH, pooledW, spatialScale, o), "roi max pool");
        }
    }

    /// <summary>The gradient of sum(output * gradOutput) w.r.t. features, through the autograd function.</summary>
    public static void Backward(
        ReadOnlySpan<float> features, int n, int c, int h, int w, ReadOnlySpan<float> rois,
        int pooledH, int pooledW, float spatialScale, ReadOnlySpan<float> gradOutput, Span<float> gradFeatures)
    {
        var count = Check(features, n, c, h, w, rois, pooledH, pooledW, gradOutput.Length, nameof(gradOutput));
        HeadInputChecks.Length(gradFeatures.Length, features.Length, nameof(gradFeatures), "[n, c, h, w]");
        fixed (float* f = features)
        fixed (float* r = rois)
        fixed (float* g = gradOutput)
        fixed (float* o = gradFeatures)
        {
            TorchNative.Check(TorchNative.ohem_roi_max_pool_backward(f, n, c, h, w, r, count, pooledH, pooledW, spatialScale, g, o),
                "roi max pool backward");
        }
    }

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
}
