namespace Ohem.Trainer.Data;

/// <summary>Builds <see cref="TrainingBatch"/>es from a dataset: one copy of each canvas and proposal set, no per-RoI allocation.</summary>
public static class TrainingBatches
{
    /// <summary>Mean pixel intensity of default training canvases (measured over 2,000, seed 1).</summary>
    public const float PixelMean = 0.1454f;

    /// <summary>Pixel standard deviation of default training canvases (same measurement).</summary>
    public const float PixelStd = 0.1675f;

    /// <summary>The canvases <paramref name="imageIndices"/> with all their RoIs, the ground-truth boxes included (training).</summary>
    public static TrainingBatch Build(DetectionDataset data, ReadOnlySpan<int> imageIndices) => Build(data, imageIndices, includeGroundTruth: true);

    /// <summary>
    /// As <see cref="Build(DetectionDataset, ReadOnlySpan{int})"/>; with <paramref name="includeGroundTruth"/>
    /// false the ground-truth boxes are left out (what evaluation must use: a detector never sees them).
    /// </summary>
    public static TrainingBatch Build(DetectionDataset data, ReadOnlySpan<int> imageIndices, bool includeGroundTruth)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (imageIndices.IsEmpty)
        {
            throw new ArgumentException("imageIndices is empty; expected at least one canvas index.", nameof(imageIndices));
        }

        var n = imageIndices.Length;
        var offsets = new int[n + 1];
        for (var b = 0; b < n; b++)
        {
            var index = imageIndices[b];
            if ((uint)index >= (uint)data.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(imageIndices), index, $"imageIndices[{b}] is {index}; the dataset has {data.Count} canvases.");
            }

            var set = data.Proposals(index);
            offsets[b + 1] = offsets[b] + set.Count - (includeGroundTruth ? 0 : set.GroundTruthCount);
        }

        var size = data.ImageSize;
        var plane = size * size;
        var r = offsets[n];
        var images = new float[n * plane];
        var rois = new float[5 * r];
        var labels = new int[r];
        var targets = new float[4 * r];
        var overlaps = new float[r];
        for (var b = 0; b < n; b++)
        {
            Normalize(data.Canvas(imageIndices[b]).Pixels, images.AsSpan(b * plane, plane));
            var set = data.Proposals(imageIndices[b]);
            var first = includeGroundTruth ? 0 : set.GroundTruthCount;
            var count = offsets[b + 1] - offsets[b];
            var o = offsets[b];
            set.Labels.AsSpan(first, count).CopyTo(labels.AsSpan(o));
            set.MaxOverlaps.AsSpan(first, count).CopyTo(overlaps.AsSpan(o));
            set.Targets.AsSpan(4 * first, 4 * count).CopyTo(targets.AsSpan(4 * o));
            for (var k = 0; k < count; k++)
            {
                var dst = rois.AsSpan(5 * (o + k), 5);
                dst[0] = b;
                set.Boxes.AsSpan(4 * (first + k), 4).CopyTo(dst[1..]);
            }
        }

        return new TrainingBatch(n, size, images, rois, labels, targets, overlaps, offsets);
    }

    /// <summary>output = (pixels - PixelMean) / PixelStd.</summary>
    public static void Normalize(ReadOnlySpan<float> pixels, Span<float> output)
    {
        if (output.Length != pixels.Length)
        {
            throw new ArgumentException($"output has {output.Length} values; expected one per pixel ({pixels.Length}).", nameof(output));
        }

        const float scale = 1f / PixelStd;
        for (var i = 0; i < pixels.Length; i++)
        {
            output[i] = (pixels[i] - PixelMean) * scale;
        }
    }
}
