using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Imaging;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Reporting;

/// <summary>What one run's policy chose on one canvas, scored by the run's final head.</summary>
/// <param name="CanvasIndex">The validation canvas.</param>
/// <param name="Boxes">Selected RoIs (x1, y1, x2, y2), 4 per RoI, hardest (largest loss) first.</param>
/// <param name="Labels">Their labels (0 background, 1..K).</param>
/// <param name="Losses">Their losses, descending.</param>
/// <param name="MeanLossAll">Mean loss over every RoI of the canvas.</param>
/// <param name="Candidates">RoIs the policy chose from (proposals and ground truth, as in training).</param>
/// <param name="Objects">Ground-truth objects on the canvas.</param>
public sealed record CanvasSelection(int CanvasIndex, float[] Boxes, int[] Labels, float[] Losses, float MeanLossAll, int Candidates, int Objects)
{
    public int Count => Labels.Length;

    public int Foreground => Labels.Count(l => l >= 1);

    public float MeanSelectedLoss => Losses.Length == 0 ? 0f : Losses.Average();
}

/// <summary>
/// The gallery: one row per validation canvas; the first column the canvas with its ground truth
/// (green) and hard negatives (yellow), then one column per run with the RoIs its policy selects
/// from the canvas's training RoIs under its final weights: background in red, foreground in
/// blue, the harder the more opaque, ground truth in green on top.
/// </summary>
public static class SelectionGallery
{
    /// <summary>Pixels between tiles.</summary>
    public const int Gap = 8;

    /// <summary>
    /// Runs <paramref name="options"/>' policy over canvas <paramref name="index"/>'s RoIs (ground
    /// truth included, as in training), every RoI scored by <paramref name="detector"/>'s head.
    /// </summary>
    public static CanvasSelection Select(Detector detector, TrainOptions options, DetectionDataset data, int index)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        var batch = TrainingBatches.Build(data, [index]);
        using var features = detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size);
        using var miner = new InProcessMiner(detector, options.Sampler, options.SamplerOptions, options.RoisPerBatch / options.ImagesPerBatch, options.Seed);
        var mined = miner.Mine(features, batch, scoreAnyway: true);
        var losses = mined.SelectedLosses ?? throw new InvalidOperationException("the miner returned no losses although asked to score every RoI.");
        var order = Enumerable.Range(0, mined.Indices.Length).OrderByDescending(i => losses[i]).ThenBy(i => i).ToArray();
        var boxes = new float[4 * order.Length];
        var labels = new int[order.Length];
        var sorted = new float[order.Length];
        for (var k = 0; k < order.Length; k++)
        {
            var roi = mined.Indices[order[k]];
            batch.Rois.AsSpan((5 * roi) + 1, 4).CopyTo(boxes.AsSpan(4 * k, 4));
            labels[k] = batch.Labels[roi];
            sorted[k] = losses[order[k]];
        }

        return new CanvasSelection(index, boxes, labels, sorted, mined.LossAll ?? float.NaN, batch.RoiCount, data.Canvas(index).ObjectCount);
    }

    /// <summary>The canvas enlarged <paramref name="scale"/> times with its ground truth and hard negatives.</summary>
    public static RgbImage GroundTruthTile(Canvas canvas, int scale)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        var tile = RgbImage.FromCanvas(canvas, scale);
        for (var d = 0; d < canvas.DistractorCount; d++)
        {
            tile.DrawBox(canvas.Distractors[4 * d], canvas.Distractors[(4 * d) + 1], canvas.Distractors[(4 * d) + 2], canvas.Distractors[(4 * d) + 3], Rgb.Yellow, 1f, 2);
        }

        DrawGroundTruth(tile, canvas);
        return tile;
    }

    /// <summary>The canvas enlarged with <paramref name="selection"/>'s RoIs, weakest drawn first so the hardest stay on top.</summary>
    public static RgbImage SelectionTile(Canvas canvas, CanvasSelection selection, int scale)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentNullException.ThrowIfNull(selection);
        var tile = RgbImage.FromCanvas(canvas, scale);
        var n = selection.Count;
        for (var k = n - 1; k >= 0; k--)
        {
            var opacity = Math.Min(1f, 0.2f + (0.8f * (n - k) / n)); // rank 0 (hardest) solid, the easiest faint
            var colour = selection.Labels[k] >= 1 ? Rgb.Blue : Rgb.Red;
            var b = selection.Boxes.AsSpan(4 * k, 4);
            tile.DrawBox(b[0], b[1], b[2], b[3], colour, opacity);
        }

        DrawGroundTruth(tile, canvas);
        return tile;
    }

    /// <summary>Tiles in a grid (rows x columns, all of one size) on white, <see cref="Gap"/> pixels apart.</summary>
    public static RgbImage Compose(IReadOnlyList<IReadOnlyList<RgbImage>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0 || rows[0].Count == 0)
        {
            throw new ArgumentException("rows is empty; expected at least one tile.", nameof(rows));
        }

        var (w, h, columns) = (rows[0][0].Width, rows[0][0].Height, rows[0].Count);
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Count != columns || rows[r].Any(t => t.Width != w || t.Height != h))
            {
                throw new ArgumentException($"rows[{r}] differs from rows[0]; expected {columns} tiles of {w}x{h} in every row.", nameof(rows));
            }
        }

        var image = new RgbImage((columns * w) + ((columns + 1) * Gap), (rows.Count * h) + ((rows.Count + 1) * Gap));
        Array.Fill(image.Pixels, (byte)255);
        for (var r = 0; r < rows.Count; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                image.Paste(rows[r][c], Gap + (c * (w + Gap)), Gap + (r * (h + Gap)));
            }
        }

        return image;
    }

    private static void DrawGroundTruth(RgbImage tile, Canvas canvas)
    {
        for (var g = 0; g < canvas.ObjectCount; g++)
        {
            tile.DrawBox(canvas.Boxes[4 * g], canvas.Boxes[(4 * g) + 1], canvas.Boxes[(4 * g) + 2], canvas.Boxes[(4 * g) + 3], Rgb.Green, 1f, 2);
        }
    }
}
