using System.Buffers;
using Ohem.Core;

namespace Ohem.Trainer.Evaluation;

/// <summary>
/// Turns the RoI head's outputs over an image's proposals into detections, as py-faster-rcnn's
/// test does: softmax over the K + 1 logits; for every class k &gt;= 1 and RoI with probability
/// above the threshold, the RoI moved by class k's deltas (<see cref="BoxTargets.Decode"/>) and
/// clipped to the image; per-class NMS (<see cref="Nms.SelectPerClass"/>); the highest
/// <see cref="DetectionOptions.MaxPerImage"/> scores across classes.
/// </summary>
public static class DetectionDecoder
{
    /// <param name="proposals">R x 4 RoIs (x1, y1, x2, y2).</param>
    /// <param name="clsScores">R x (K + 1) logits, background first.</param>
    /// <param name="bboxPred">R x 4(K + 1) normalised deltas, 4 per class, background's first.</param>
    /// <param name="numClasses">K, the object classes.</param>
    /// <param name="imageSize">Boxes are clipped to [0, imageSize].</param>
    /// <returns>Detections by descending score (ties: lower RoI, then lower class, first).</returns>
    public static IReadOnlyList<Detection> Decode(
        ReadOnlySpan<float> proposals, ReadOnlySpan<float> clsScores, ReadOnlySpan<float> bboxPred,
        int numClasses, int imageSize, DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        var r = Boxes.Validate(proposals, nameof(proposals));
        var c = numClasses + 1;
        if (clsScores.Length != r * c)
        {
            throw new ArgumentException($"clsScores has {clsScores.Length} values; expected R x (K + 1) = {r} x {c}.", nameof(clsScores));
        }

        if (bboxPred.Length != r * 4 * c)
        {
            throw new ArgumentException($"bboxPred has {bboxPred.Length} values; expected R x 4(K + 1) = {r} x {4 * c}.", nameof(bboxPred));
        }

        var probabilities = ArrayPool<float>.Shared.Rent(Math.Max(1, r * c));
        var candidates = 0;
        for (var i = 0; i < r; i++)
        {
            var p = probabilities.AsSpan(i * c, c);
            if (!Softmax(clsScores.Slice(i * c, c), p))
            {
                throw new ArgumentException($"clsScores row {i} holds a non-finite logit.", nameof(clsScores));
            }

            for (var k = 1; k < c; k++)
            {
                candidates += p[k] > options.ScoreThreshold ? 1 : 0;
            }
        }

        var n = candidates;
        var rois = ArrayPool<float>.Shared.Rent(Math.Max(1, 4 * n));
        var deltas = ArrayPool<float>.Shared.Rent(Math.Max(1, 4 * n));
        var boxes = ArrayPool<float>.Shared.Rent(Math.Max(1, 4 * n));
        var scores = ArrayPool<float>.Shared.Rent(Math.Max(1, n));
        var classes = ArrayPool<int>.Shared.Rent(Math.Max(1, n));
        try
        {
            var j = 0;
            for (var i = 0; i < r; i++)
            {
                for (var k = 1; k < c; k++)
                {
                    var score = probabilities[i * c + k];
                    if (score > options.ScoreThreshold)
                    {
                        proposals.Slice(4 * i, 4).CopyTo(rois.AsSpan(4 * j, 4));
                        bboxPred.Slice(4 * (i * c + k), 4).CopyTo(deltas.AsSpan(4 * j, 4));
                        scores[j] = score;
                        classes[j] = k;
                        j++;
                    }
                }
            }

            BoxTargets.Decode(rois.AsSpan(0, 4 * n), deltas.AsSpan(0, 4 * n), boxes.AsSpan(0, 4 * n));
            var limit = (float)imageSize;
            for (var q = 0; q < 4 * n; q++)
            {
                boxes[q] = Math.Clamp(boxes[q], 0f, limit);
            }

            var kept = Nms.SelectPerClass(boxes.AsSpan(0, 4 * n), scores.AsSpan(0, n), classes.AsSpan(0, n), options.NmsIou);
            var count = Math.Min(kept.Length, options.MaxPerImage);
            var detections = new Detection[count];
            for (var d = 0; d < count; d++)
            {
                var q = kept[d];
                detections[d] = new Detection(classes[q], scores[q], boxes[4 * q], boxes[4 * q + 1], boxes[4 * q + 2], boxes[4 * q + 3]);
            }

            return detections;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(probabilities);
            ArrayPool<float>.Shared.Return(rois);
            ArrayPool<float>.Shared.Return(deltas);
            ArrayPool<float>.Shared.Return(boxes);
            ArrayPool<float>.Shared.Return(scores);
            ArrayPool<int>.Shared.Return(classes);
        }
    }

    /// <summary>Numerically stable softmax (max subtracted) of one row of logits; false when the row's largest logit is not finite.</summary>
    internal static bool Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        var max = float.NegativeInfinity;
        foreach (var v in logits)
        {
            max = MathF.Max(max, v);
        }

        if (!float.IsFinite(max))
        {
            return false;
        }

        var sum = 0f;
        for (var k = 0; k < logits.Length; k++)
        {
            probabilities[k] = MathF.Exp(logits[k] - max);
            sum += probabilities[k];
        }

        for (var k = 0; k < logits.Length; k++)
        {
            probabilities[k] /= sum;
        }

        return true;
    }
}
