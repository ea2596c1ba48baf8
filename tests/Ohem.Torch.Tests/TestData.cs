using Ohem.Onnx.Export;

namespace Ohem.Torch.Tests;

/// <summary>Small detectors and deterministic random inputs for the tests.</summary>
internal static class TestData
{
    /// <summary>A small detector: 1 -> 4 -> 8 channels, stride 4, pooled 3x3, fc 16 -> 12, K = 3.</summary>
    public static DetectorOptions Small(int seed = 0) => new()
    {
        InputChannels = 1,
        BackboneChannels = [4, 8],
        Stride = 4,
        PooledSize = 3,
        HiddenSizes = [16, 12],
        NumClasses = 3,
        Seed = seed,
    };

    /// <summary>The exporter's spec of a detector's head.</summary>
    public static RoiHeadSpec Spec(DetectorOptions o) =>
        new(o.FeatureChannels, o.PooledSize, o.PooledSize, o.SpatialScale, o.HiddenSizes, o.NumClasses);

    public static float[] Uniform(int count, Random rng, float low = -1f, float high = 1f) =>
        [.. Enumerable.Range(0, count).Select(_ => low + ((high - low) * rng.NextSingle()))];

    /// <summary>
    /// RoIs [R, 5] over images of <paramref name="width"/> x <paramref name="height"/> pixels: most
    /// inside, some partly or wholly outside, some tiny or of zero size (x2 = x1).
    /// </summary>
    public static float[] Rois(int count, int images, int width, int height, Random rng)
    {
        var rois = new float[5 * count];
        for (var i = 0; i < count; i++)
        {
            float x1 = rng.Next(-width / 4, width), y1 = rng.Next(-height / 4, height);
            var (x2, y2) = rng.Next(6) switch
            {
                0 => (x1 + rng.NextSingle(), y1 + rng.NextSingle()), // tiny
                1 => (x1, y1), // zero size
                2 => (x1 + rng.Next(width / 2, 2 * width), y1 + rng.Next(height / 2, 2 * height)), // past the edge
                _ => (x1 + rng.Next(0, width / 2) + rng.NextSingle(), y1 + rng.Next(0, height / 2) + rng.NextSingle()),
            };
            rois[5 * i] = rng.Next(images);
            rois[5 * i + 1] = x1;
            rois[5 * i + 2] = y1;
            rois[5 * i + 3] = x2;
            rois[5 * i + 4] = y2;
        }

        return rois;
    }

    public static int[] Labels(int count, int numClasses, Random rng) =>
        [.. Enumerable.Range(0, count).Select(_ => rng.Next(-1, numClasses + 1))];

    /// <summary>Sets every head parameter to uniform ±scale/sqrt(fan_in) (the exporter's RandomWeights): logits well away from 0.</summary>
    public static void RandomizeHead(Detector detector, int seed, float scale = 3f)
    {
        foreach (var (name, values) in RoiHeadExporter.RandomWeights(Spec(detector.Options), seed, scale))
        {
            detector.SetParameter(name, values);
        }
    }

    public static float MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        }

        return max;
    }
}
