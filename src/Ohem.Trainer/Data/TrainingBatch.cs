namespace Ohem.Trainer.Data;

/// <summary>
/// N canvases and all their RoIs, laid out for the network and the miner.
/// </summary>
/// <param name="Count">Images, N.</param>
/// <param name="Size">Image width and height, S.</param>
/// <param name="Images">N x 1 x S x S, normalised as (pixel - <see cref="TrainingBatches.PixelMean"/>) / <see cref="TrainingBatches.PixelStd"/>.</param>
/// <param name="Rois">R x 5: batch index, x1, y1, x2, y2 (image pixels).</param>
/// <param name="Labels">R labels: 0 background, 1..K.</param>
/// <param name="Targets">R x 4 box targets (zeros for background).</param>
/// <param name="MaxOverlaps">R largest IoUs with the image's ground truth.</param>
/// <param name="ImageOffsets">N + 1 prefix offsets: image n owns RoIs [ImageOffsets[n], ImageOffsets[n + 1]).</param>
public sealed record TrainingBatch(int Count, int Size, float[] Images, float[] Rois, int[] Labels, float[] Targets, float[] MaxOverlaps, int[] ImageOffsets)
{
    /// <summary>Total RoIs, R.</summary>
    public int RoiCount => Labels.Length;
}
