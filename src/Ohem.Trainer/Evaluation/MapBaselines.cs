using Ohem.Trainer.Data;

namespace Ohem.Trainer.Evaluation;

/// <summary>
/// Reference points for a dataset's mAP, through the same decoder and evaluator as a trained
/// network: <see cref="Chance"/> (standard normal logits, zero box deltas: what an untrained head
/// scores) and <see cref="ProposalCeiling"/> (logits from the proposals' true labels: what the
/// proposals allow without box regression). Ground-truth boxes are never among the RoIs scored.
/// </summary>
public static class MapBaselines
{
    private const ulong ChanceStream = 0x4348414E4345; // "CHANCE"

    /// <summary>mAP of random class scores over the first <paramref name="images"/> canvases' proposals (ground truth left out).</summary>
    public static VocResult Chance(DetectionDataset data, int images, int seed, DetectionOptions? options = null)
    {
        return Evaluate(data, images, options, (index, set, logits) =>
        {
            var rng = new SeededRandom(seed, ChanceStream, index);
            for (var q = 0; q < logits.Length; q++)
            {
                logits[q] = rng.Gaussian();
            }
        });
    }

    /// <summary>mAP when each proposal's logit for its true label is 10 x its max overlap (others 0): the proposals' ceiling.</summary>
    public static VocResult ProposalCeiling(DetectionDataset data, int images, DetectionOptions? options = null)
    {
        return Evaluate(data, images, options, (_, set, logits) =>
        {
            var c = DetectionDataset.NumClasses + 1;
            logits.Clear();
            for (var i = set.GroundTruthCount; i < set.Count; i++)
            {
                logits[(i - set.GroundTruthCount) * c + set.Labels[i]] = 10f * MathF.Max(set.MaxOverlaps[i], 0.5f);
            }
        });
    }

    private delegate void FillLogits(int index, ProposalSet set, Span<float> logits);

    private static VocResult Evaluate(DetectionDataset data, int images, DetectionOptions? options, FillLogits fill)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (images < 1 || images > data.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(images), images, $"expected 1..{data.Count} (the dataset's canvases).");
        }

        options ??= new DetectionOptions();
        const int c = DetectionDataset.NumClasses + 1;
        var evaluator = new VocEvaluator(DetectionDataset.NumClasses);
        for (var index = 0; index < images; index++)
        {
            var canvas = data.Canvas(index);
            var set = data.Proposals(index);
            var proposals = set.ProposalBoxes;
            var r = proposals.Length / 4;
            var logits = new float[r * c];
            fill(index, set, logits);
            var deltas = new float[r * 4 * c];
            var detections = DetectionDecoder.Decode(proposals, logits, deltas, DetectionDataset.NumClasses, canvas.Size, options);
            evaluator.Add(canvas.Boxes, canvas.Classes, detections);
        }

        return evaluator.Compute();
    }
}
