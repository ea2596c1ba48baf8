using System.Runtime.InteropServices;
using SkiaSharp;
using Ohem.Torch;
using Ohem.Trainer.Data;
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

    private static readonly SKColor Green = new(40, 220, 40), Red = new(255, 40, 40), Blue = new(60, 120, 255), Yellow = new(255, 220, 0);

    /// <summary>The canvas enlarged <paramref name="scale"/> times with its ground truth and hard negatives.</summary>
    public static SKBitmap GroundTruthTile(Canvas canvas, int scale)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        var tile = CanvasTile(canvas, scale);
        using var draw = new SKCanvas(tile);
        for (var d = 0; d < canvas.DistractorCount; d++)
        {
            DrawBox(draw, canvas.Distractors.AsSpan(4 * d, 4), scale, Yellow, 1f, 2);
        }

        DrawGroundTruth(draw, canvas, scale);
        return tile;
    }

    /// <summary>The canvas enlarged with <paramref name="selection"/>'s RoIs, weakest drawn first so the hardest stay on top.</summary>
    public static SKBitmap SelectionTile(Canvas canvas, CanvasSelection selection, int scale)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentNullException.ThrowIfNull(selection);
        var tile = CanvasTile(canvas, scale);
        using var draw = new SKCanvas(tile);
        var n = selection.Count;
        for (var k = n - 1; k >= 0; k--)
        {
            var opacity = Math.Min(1f, 0.2f + (0.8f * (n - k) / n)); // rank 0 (hardest) solid, the easiest faint
            DrawBox(draw, selection.Boxes.AsSpan(4 * k, 4), scale, selection.Labels[k] >= 1 ? Blue : Red, opacity, 1);
        }

        DrawGroundTruth(draw, canvas, scale);
        return tile;
    }

    /// <summary>Tiles in a grid (rows x columns, all of one size) on white, <see cref="Gap"/> pixels apart.</summary>
    public static SKBitmap Compose(IReadOnlyList<IReadOnlyList<SKBitmap>> rows)
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

        var image = new SKBitmap(new SKImageInfo((columns * w) + ((columns + 1) * Gap), (rows.Count * h) + ((rows.Count + 1) * Gap), SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var draw = new SKCanvas(image);
        draw.Clear(SKColors.White);
        for (var r = 0; r < rows.Count; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                using var tile = SKImage.FromBitmap(rows[r][c]);
                draw.DrawImage(tile, Gap + (c * (w + Gap)), Gap + (r * (h + Gap)), new SKSamplingOptions(SKFilterMode.Nearest));
            }
        }

        return image;
    }

    /// <summary>Writes <paramref name="image"/> as a PNG file.</summary>
    public static void SavePng(SKBitmap image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var encoded = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        encoded.SaveTo(file);
    }

    /// <summary>The canvas's grey pixels, each a <paramref name="scale"/> x <paramref name="scale"/> block.</summary>
    private static SKBitmap CanvasTile(Canvas canvas, int scale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        var n = canvas.Size;
        using var grey = new SKBitmap(new SKImageInfo(n, n, SKColorType.Gray8, SKAlphaType.Opaque));
        var levels = new byte[n * n];
        for (var i = 0; i < levels.Length; i++)
        {
            levels[i] = (byte)MathF.Round(255f * Math.Clamp(canvas.Pixels[i], 0f, 1f));
        }

        Marshal.Copy(levels, 0, grey.GetPixels(), levels.Length);
        var tile = new SKBitmap(new SKImageInfo(n * scale, n * scale, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var draw = new SKCanvas(tile);
        using var image = SKImage.FromBitmap(grey);
        draw.DrawImage(image, SKRect.Create(n * scale, n * scale), new SKSamplingOptions(SKFilterMode.Nearest));
        return tile;
    }

    /// <summary>
    /// Outlines a box (x1, y1, x2, y2 in canvas pixels) inside its scaled border pixels with a
    /// <paramref name="thickness"/>-pixel line at <paramref name="opacity"/>: a stronger colour or
    /// opacity marks what matters more.
    /// </summary>
    private static void DrawBox(SKCanvas draw, ReadOnlySpan<float> box, int scale, SKColor colour, float opacity, int thickness)
    {
        var left = MathF.Floor(box[0] * scale);
        var top = MathF.Floor(box[1] * scale);
        var right = Math.Max(left + 1, MathF.Ceiling(box[2] * scale));
        var bottom = Math.Max(top + 1, MathF.Ceiling(box[3] * scale));
        var inset = thickness / 2f;
        using var paint = new SKPaint
        {
            Color = colour.WithAlpha((byte)MathF.Round(255 * opacity)),
            Style = SKPaintStyle.Stroke,
            StrokeWidth = thickness,
            IsAntialias = false,
        };
        draw.DrawRect(new SKRect(left + inset, top + inset, right - inset, bottom - inset), paint);
    }

    private static void DrawGroundTruth(SKCanvas draw, Canvas canvas, int scale)
    {
        for (var g = 0; g < canvas.ObjectCount; g++)
        {
            DrawBox(draw, canvas.Boxes.AsSpan(4 * g, 4), scale, Green, 1f, 2);
        }
    }
}
