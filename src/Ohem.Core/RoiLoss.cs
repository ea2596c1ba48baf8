using System.Buffers;
using System.Numerics.Tensors;

namespace Ohem.Core;

/// <summary>
/// The per-RoI Fast R-CNN multi-task loss of the shared contract, the "hardness" OHEM ranks by:
/// <c>loss = CE(softmax(cls), label) + lambda * [label &gt;= 1] * sum_k smoothL1(pred[label, k] - target[k])</c>
/// with smooth-L1 beta 1 over the 4 normalised deltas (dx, dy, dw, dh) of the labelled class.
/// Ignored RoIs (label -1) get loss 0 and are never selected by any policy.
/// </summary>
public static class RoiLoss
{
    /// <summary>Box-target normalisation of the contract: deltas are divided by these stds.</summary>
    public static ReadOnlySpan<float> BoxTargetStds => [0.1f, 0.1f, 0.2f, 0.2f];

    /// <summary>
    /// Computes the loss of every RoI.
    /// </summary>
    /// <param name="classLogits">[R, K+1] raw logits, row-major.</param>
    /// <param name="boxDeltas">[R, 4(K+1)] predicted normalised deltas, row-major.</param>
    /// <param name="labels">[R] in -1..K.</param>
    /// <param name="boxTargets">[R, 4] normalised targets of the ground-truth class (read only for label &gt;= 1).</param>
    /// <param name="numClasses">K, the number of object classes (background excluded).</param>
    /// <param name="loss">[R] output.</param>
    /// <param name="boxLossWeight">lambda, the weight of the box term (1 in the paper).</param>
    public static void Compute(
        ReadOnlySpan<float> classLogits,
        ReadOnlySpan<float> boxDeltas,
        ReadOnlySpan<int> labels,
        ReadOnlySpan<float> boxTargets,
        int numClasses,
        Span<float> loss,
        float boxLossWeight = 1f) =>
        ComputeTerms(classLogits, boxDeltas, labels, boxTargets, numClasses, loss, default, default, boxLossWeight);

    /// <summary>
    /// Computes the loss of every RoI and, where the spans are not empty, its two terms: the
    /// cross-entropy and lambda * smooth-L1 (0 for background and ignored RoIs). The loss is their
    /// float sum, bit for bit what <see cref="Compute"/> writes. Ranking policies read the terms
    /// for <see cref="Selection.HardnessLoss"/> other than the whole loss.
    /// </summary>
    /// <param name="classLoss">[R] output, or empty when not wanted.</param>
    /// <param name="boxLoss">[R] output, or empty when not wanted.</param>
    public static void ComputeTerms(
        ReadOnlySpan<float> classLogits,
        ReadOnlySpan<float> boxDeltas,
        ReadOnlySpan<int> labels,
        ReadOnlySpan<float> boxTargets,
        int numClasses,
        Span<float> loss,
        Span<float> classLoss,
        Span<float> boxLoss,
        float boxLossWeight = 1f)
    {
        Guard.Positive(numClasses, nameof(numClasses));
        if (!(boxLossWeight >= 0f) || float.IsInfinity(boxLossWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(boxLossWeight), boxLossWeight, "boxLossWeight must be finite and >= 0.");
        }

        var r = labels.Length;
        var width = numClasses + 1;
        Guard.Length(classLogits.Length, r * width, nameof(classLogits), $"[R={r}, K+1={width}]");
        Guard.Length(boxDeltas.Length, r * 4 * width, nameof(boxDeltas), $"[R={r}, 4(K+1)={4 * width}]");
        Guard.Length(boxTargets.Length, r * 4, nameof(boxTargets), $"[R={r}, 4]");
        Guard.Length(loss.Length, r, nameof(loss), "one loss per RoI");
        if (!classLoss.IsEmpty)
        {
            Guard.Length(classLoss.Length, r, nameof(classLoss), "one class term per RoI, or empty");
        }

        if (!boxLoss.IsEmpty)
        {
            Guard.Length(boxLoss.Length, r, nameof(boxLoss), "one box term per RoI, or empty");
        }

        Guard.Labels(labels, numClasses, nameof(labels));
        Guard.Finite(classLogits, nameof(classLogits));
        Guard.Finite(boxDeltas, nameof(boxDeltas));
        Guard.Finite(boxTargets, nameof(boxTargets));

        // One scratch row for exp(logits - max), reused by every RoI: no allocation per RoI.
        float[]? rented = null;
        var scratch = width <= 512 ? stackalloc float[width] : (rented = ArrayPool<float>.Shared.Rent(width)).AsSpan(0, width);
        try
        {
            for (var i = 0; i < r; i++)
            {
                var label = labels[i];
                if (label < 0)
                {
                    Write(i, 0f, 0f, 0f, loss, classLoss, boxLoss);
                    continue;
                }

                var row = classLogits.Slice(i * width, width);
                var max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, scratch);
                TensorPrimitives.Exp(scratch, scratch);
                // -log softmax[label] = log(sum exp(x - max)) - (x[label] - max): stable for any logits.
                var crossEntropy = MathF.Log(TensorPrimitives.Sum(scratch)) - (row[label] - max);
                var box = 0f;
                if (label >= 1)
                {
                    var pred = boxDeltas.Slice(i * 4 * width + 4 * label, 4);
                    var target = boxTargets.Slice(i * 4, 4);
                    box = boxLossWeight * (SmoothL1(pred[0] - target[0]) + SmoothL1(pred[1] - target[1])
                                         + SmoothL1(pred[2] - target[2]) + SmoothL1(pred[3] - target[3]));
                }

                Write(i, crossEntropy + box, crossEntropy, box, loss, classLoss, boxLoss);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    private static void Write(int i, float total, float crossEntropy, float box, Span<float> loss, Span<float> classLoss, Span<float> boxLoss)
    {
        loss[i] = total;
        if (!classLoss.IsEmpty)
        {
            classLoss[i] = crossEntropy;
        }

        if (!boxLoss.IsEmpty)
        {
            boxLoss[i] = box;
        }
    }

    /// <summary>Smooth-L1 with beta 1: 0.5 d^2 when |d| &lt; 1, else |d| - 0.5.</summary>
    public static float SmoothL1(float d)
    {
        var a = MathF.Abs(d);
        return a < 1f ? 0.5f * d * d : a - 0.5f;
    }
}
