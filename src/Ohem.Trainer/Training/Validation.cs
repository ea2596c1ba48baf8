using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Evaluation;

namespace Ohem.Trainer.Training;

/// <summary>
/// Detection quality on a held-out split: the head scores every proposal of each canvas, the
/// decoder turns scores and deltas into per-class detections (softmax, decoded boxes, per-class
/// NMS), and VOC AP at IoU 0.5 is computed per class.
/// </summary>
public static class Validation
{
    /// <summary>Evaluates <paramref name="detector"/> on every canvas of <paramref name="data"/>.</summary>
    public static VocResult Evaluate(Detector detector, DetectionDataset data, DetectionOptions? options = null, int imagesPerPass = 4)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new DetectionOptions();
        var k = detector.Options.NumClasses;
        var evaluator = new VocEvaluator(k);
        for (var first = 0; first < data.Count; first += imagesPerPass)
        {
            var indices = Enumerable.Range(first, Math.Min(imagesPerPass, data.Count - first)).ToArray();
            var batch = TrainingBatches.Build(data, indices, includeGroundTruth: false);
            using var features = detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size);
            var r = batch.Labels.Length;
            var cls = new float[r * (k + 1)];
            var deltas = new float[r * 4 * (k + 1)];
            detector.InferHead(features, batch.Rois, cls, deltas);
            for (var i = 0; i < indices.Length; i++)
            {
                var canvas = data.Canvas(indices[i]);
                var start = batch.ImageOffsets[i];
                var end = batch.ImageOffsets[i + 1];
                var boxes = new float[4 * (end - start)];
                for (var j = start; j < end; j++)
                {
                    batch.Rois.AsSpan((5 * j) + 1, 4).CopyTo(boxes.AsSpan(4 * (j - start), 4));
                }

                var detections = DetectionDecoder.Decode(
                    boxes,
                    cls.AsSpan(start * (k + 1), (end - start) * (k + 1)),
                    deltas.AsSpan(start * 4 * (k + 1), (end - start) * 4 * (k + 1)),
                    k, canvas.Size, options);
                evaluator.Add(canvas.Boxes, canvas.Classes, detections);
            }
        }

        return evaluator.Compute();
    }
}
