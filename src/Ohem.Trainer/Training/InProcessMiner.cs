using Ohem.Core;
using Ohem.Core.Selection;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Mining;

namespace Ohem.Trainer.Training;

/// <summary>
/// Mining in the trainer's own process: the live head scores every RoI in inference mode (the
/// paper's read-only RoI network, sharing the trainable head's weights), Ohem.Core computes each
/// RoI's loss, and the policy picks B / N RoIs per image. The same policies run in the miner
/// service, so the two paths choose alike for the same losses.
/// </summary>
public sealed class InProcessMiner
{
    private readonly Detector _detector;
    private readonly IHardExampleSelector _selector;

    /// <param name="detector">The trainable detector whose head scores the RoIs.</param>
    /// <param name="sampler">A policy name (SelectionPolicies.Names).</param>
    /// <param name="options">Policy options; "budget" defaults to <paramref name="budgetPerImage"/>
    /// and "seed" (for sampling policies) to <paramref name="seed"/>.</param>
    public InProcessMiner(Detector detector, string sampler, IReadOnlyDictionary<string, string> options, int budgetPerImage, int seed)
    {
        ArgumentNullException.ThrowIfNull(detector);
        _detector = detector;
        _selector = SelectionPolicies.Create(sampler, MiningPolicy.Options(sampler, options, budgetPerImage, seed));
    }

    /// <summary>The policy's canonical name.</summary>
    public string Policy => _selector.Name;

    /// <summary>Whether the policy ranks by loss, so every batch is scored anyway.</summary>
    public bool ScoresEveryBatch => Policy != SelectionPolicies.FgBg;

    /// <summary>
    /// Chooses the RoIs to train on. Scores every RoI when the policy needs losses or
    /// <paramref name="scoreAnyway"/> asks for them (for the log).
    /// </summary>
    public MinedBatch Mine(FeatureMaps features, TrainingBatch batch, bool scoreAnyway = false)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(batch);
        var r = batch.Labels.Length;
        var losses = ScoresEveryBatch || scoreAnyway ? Score(features, batch) : null;
        return Select(batch, losses ?? new float[r], losses);
    }

    /// <summary>Per-RoI losses of the whole batch under the head's current weights.</summary>
    public float[] Score(FeatureMaps features, TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var k = _detector.Options.NumClasses;
        var r = batch.Labels.Length;
        var cls = new float[r * (k + 1)];
        var deltas = new float[r * 4 * (k + 1)];
        _detector.InferHead(features, batch.Rois, cls, deltas);
        var losses = new float[r];
        RoiLoss.Compute(cls, deltas, batch.Labels, batch.Targets, k, losses);
        return losses;
    }

    /// <summary>Runs the policy image by image over given losses.</summary>
    public MinedBatch Select(TrainingBatch batch, float[] losses, float[]? reportedLosses)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(losses);
        var indices = new List<int>();
        List<float>? weights = null;
        for (var image = 0; image < batch.Count; image++)
        {
            var start = batch.ImageOffsets[image];
            var end = batch.ImageOffsets[image + 1];
            var boxes = Xyxy(batch.Rois.AsSpan(5 * start, 5 * (end - start)));
            var selection = _selector.Select(new ImageRois(
                boxes,
                losses.AsSpan(start, end - start),
                batch.Labels.AsSpan(start, end - start),
                batch.MaxOverlaps.AsSpan(start, end - start)));
            if (selection.Weights is not null && weights is null)
            {
                weights = [.. Enumerable.Repeat(1f, indices.Count)];
            }

            foreach (var index in selection.Indices)
            {
                indices.Add(start + index);
            }

            if (weights is not null)
            {
                weights.AddRange(selection.Weights ?? Enumerable.Repeat(1f, selection.Indices.Length));
            }
        }

        var selected = reportedLosses is null ? null : indices.Select(i => reportedLosses[i]).ToArray();
        var lossAll = reportedLosses is null ? (float?)null : MinedBatch.MeanOverLabelled(reportedLosses, batch.Labels);
        return new MinedBatch([.. indices], weights?.ToArray(), lossAll, selected);
    }

    private static float[] Xyxy(ReadOnlySpan<float> rois)
    {
        var boxes = new float[rois.Length / 5 * 4];
        for (int i = 0, j = 0; i < rois.Length; i += 5, j += 4)
        {
            rois.Slice(i + 1, 4).CopyTo(boxes.AsSpan(j, 4));
        }

        return boxes;
    }
}
