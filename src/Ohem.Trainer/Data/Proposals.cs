using Ohem.Core;

namespace Ohem.Trainer.Data;

/// <summary>
/// Proposals for a canvas as selective search would give them, labelled for Fast R-CNN training.
/// Deterministic from (canvas, options, seed).
/// </summary>
public static class Proposals
{
    private const ulong ProposalStream = 0x50524F504F53414C; // "PROPOSAL"

    /// <summary>
    /// The ground-truth boxes (when <see cref="ProposalOptions.IncludeGroundTruth"/>), then
    /// <see cref="ProposalOptions.Count"/> proposals: jittered around objects, around hard negatives
    /// (half of those around the union of a near-miss and the object it touches), and random; all
    /// clipped to the canvas with width and height at least 1. Labels, max overlaps and targets as
    /// in <see cref="ProposalSet"/>.
    /// </summary>
    public static ProposalSet Generate(Canvas canvas, ProposalOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var rng = new SeededRandom(seed, ProposalStream);
        var size = (float)canvas.Size;
        var g = canvas.ObjectCount;
        var d = canvas.DistractorCount;
        var gtCount = options.IncludeGroundTruth ? g : 0;
        var r = gtCount + options.Count;
        var boxes = new float[4 * r];
        var sources = new ProposalSource[r];

        canvas.Boxes.AsSpan(0, 4 * gtCount).CopyTo(boxes);
        var i = gtCount;
        var objectCount = g > 0 ? (int)MathF.Round(options.ObjectFraction * options.Count) : 0;
        var distractorCount = d > 0 ? (int)MathF.Round(options.DistractorFraction * options.Count) : 0;
        distractorCount = Math.Min(distractorCount, options.Count - objectCount);
        for (var k = 0; k < objectCount; k++, i++)
        {
            var j = k % g; // objects share the jittered boxes equally
            Jitter(canvas.Boxes.AsSpan(4 * j, 4), options, size, ref rng, boxes.AsSpan(4 * i, 4));
            sources[i] = ProposalSource.AroundObject;
        }

        Span<float> around = stackalloc float[4];
        for (var k = 0; k < distractorCount; k++, i++)
        {
            var j = k % d;
            canvas.Distractors.AsSpan(4 * j, 4).CopyTo(around);
            if (canvas.DistractorKinds[j] == HardNegativeKind.NearMiss && rng.Next(2) == 0)
            {
                UnionWithTouchedObject(canvas, around);
            }

            Jitter(around, options, size, ref rng, boxes.AsSpan(4 * i, 4));
            sources[i] = ProposalSource.AroundDistractor;
        }

        for (; i < r; i++)
        {
            var w = rng.LogUniform(options.MinRandomSize, size);
            var h = rng.LogUniform(options.MinRandomSize, size);
            var cx = rng.Uniform(0f, size);
            var cy = rng.Uniform(0f, size);
            Clip(cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h, size, boxes.AsSpan(4 * i, 4));
            sources[i] = ProposalSource.Random;
        }

        for (var k = 0; k < gtCount; k++)
        {
            sources[k] = ProposalSource.GroundTruth;
        }

        return Label(canvas, boxes, gtCount, sources, options.FgThreshold);
    }

    /// <summary>Labels, max overlaps and Fast R-CNN targets of <paramref name="boxes"/> against the canvas's ground truth.</summary>
    internal static ProposalSet Label(Canvas canvas, float[] boxes, int gtCount, ProposalSource[] sources, float fgThreshold)
    {
        var r = boxes.Length / 4;
        var labels = new int[r];
        var overlaps = new float[r];
        var targets = new float[4 * r];
        var argMax = new int[r];
        Boxes.MaxIou(boxes, canvas.Boxes, overlaps, argMax);

        var fg = 0;
        for (var k = 0; k < r; k++)
        {
            fg += overlaps[k] >= fgThreshold && argMax[k] >= 0 ? 1 : 0;
        }

        // Gather the foreground RoIs and their ground truth, encode in one call, scatter back.
        var fgRois = new float[4 * fg];
        var fgGt = new float[4 * fg];
        var fgTargets = new float[4 * fg];
        var f = 0;
        for (var k = 0; k < r; k++)
        {
            if (overlaps[k] >= fgThreshold && argMax[k] >= 0)
            {
                labels[k] = canvas.Classes[argMax[k]];
                boxes.AsSpan(4 * k, 4).CopyTo(fgRois.AsSpan(4 * f, 4));
                canvas.Boxes.AsSpan(4 * argMax[k], 4).CopyTo(fgGt.AsSpan(4 * f, 4));
                f++;
            }
        }

        BoxTargets.Encode(fgRois, fgGt, fgTargets);
        f = 0;
        for (var k = 0; k < r; k++)
        {
            if (labels[k] >= 1)
            {
                fgTargets.AsSpan(4 * f, 4).CopyTo(targets.AsSpan(4 * k, 4));
                f++;
            }
        }

        return new ProposalSet(boxes, labels, overlaps, targets, gtCount, sources);
    }

    /// <summary>A box around <paramref name="box"/>: centre shifted and sides scaled by a spread drawn per box, clipped.</summary>
    private static void Jitter(ReadOnlySpan<float> box, ProposalOptions options, float size, ref SeededRandom rng, Span<float> output)
    {
        float w = box[2] - box[0], h = box[3] - box[1];
        float cx = box[0] + 0.5f * w, cy = box[1] + 0.5f * h;
        var spread = rng.Uniform(options.MinJitter, options.MaxJitter);
        cx += spread * rng.Gaussian() * w;
        cy += spread * rng.Gaussian() * h;
        w *= MathF.Exp(spread * rng.Gaussian());
        h *= MathF.Exp(spread * rng.Gaussian());
        Clip(cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h, size, output);
    }

    /// <summary>Clips to [0, size] keeping width and height at least 1 pixel.</summary>
    private static void Clip(float x1, float y1, float x2, float y2, float size, Span<float> output)
    {
        x1 = Math.Clamp(x1, 0f, size - 1f);
        y1 = Math.Clamp(y1, 0f, size - 1f);
        output[0] = x1;
        output[1] = y1;
        output[2] = Math.Clamp(x2, x1 + 1f, size);
        output[3] = Math.Clamp(y2, y1 + 1f, size);
    }

    /// <summary>Grows <paramref name="box"/> (a near-miss) to the union with the object it touches (within 1 pixel), if any.</summary>
    private static void UnionWithTouchedObject(Canvas canvas, Span<float> box)
    {
        for (var j = 0; j < canvas.ObjectCount; j++)
        {
            var o = canvas.Boxes.AsSpan(4 * j, 4);
            var gapX = MathF.Max(o[0] - box[2], box[0] - o[2]);
            var gapY = MathF.Max(o[1] - box[3], box[1] - o[3]);
            if (MathF.Max(gapX, gapY) <= 1f)
            {
                box[0] = MathF.Min(box[0], o[0]);
                box[1] = MathF.Min(box[1], o[1]);
                box[2] = MathF.Max(box[2], o[2]);
                box[3] = MathF.Max(box[3], o[3]);
                return;
            }
        }
    }
}
