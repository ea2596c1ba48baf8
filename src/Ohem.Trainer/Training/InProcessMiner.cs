using Ohem.Core.Selection;
using Ohem.Onnx;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Mining;

namespace Ohem.Trainer.Training;

/// <summary>
/// Mining in the trainer's own process, on the miner's scoring path: the head's current weights
/// are installed as a weights version of the exported head (the paper's read-only RoI network,
/// sharing the trainable head's weights), the miner's <see cref="RoiScorer"/> scores every RoI
/// with ONNX Runtime and computes each RoI's loss, and the policy picks B / N RoIs per image. The
/// miner service runs the same scorer and policies, so both paths choose alike for the same weights.
/// </summary>
public sealed class InProcessMiner : IDisposable
{
    private readonly Detector _detector;
    private readonly IHardExampleSelector _selector;
    private readonly WeightsVersionStore _store;
    private readonly RoiScorer _scorer;
    private readonly Lock _gate = new();

    // Two sets of head weights, swapped per install: the set not installed is free to overwrite,
    // because the store keeps only the newest version and scoring here is sequential.
    private Dictionary<string, float[]> _installed, _spare;
    private ulong _version;
    private float[] _features = [];

    /// <param name="detector">The trainable detector whose head scores the RoIs.</param>
    /// <param name="sampler">A policy name (SelectionPolicies.Names).</param>
    /// <param name="options">Policy options; "budget" defaults to <paramref name="budgetPerImage"/>
    /// and "seed" (for sampling policies) to <paramref name="seed"/>.</param>
    /// <param name="scoring">ONNX Runtime's threads and providers for scoring (default: one CPU thread).</param>
    public InProcessMiner(
        Detector detector, string sampler, IReadOnlyDictionary<string, string> options, int budgetPerImage, int seed, OnnxSessionOptions? scoring = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        _detector = detector;
        _selector = SelectionPolicies.Create(sampler, MiningPolicy.Options(sampler, options, budgetPerImage, seed));
        var head = detector.HeadWeights();
        var model = ScoringModel.Load(RoiHeadExporter.Export(DetectorHead.Spec(detector.Options), head), detector.Options.NumClasses, scoring);
        _store = new WeightsVersionStore(model, new WeightsStoreOptions { KeepVersions = 1 }, scoring);
        _scorer = new RoiScorer(_store);
        _installed = head.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        _spare = head.ToDictionary(kv => kv.Key, kv => new float[kv.Value.Length], StringComparer.Ordinal);
        _store.Install(++_version, _installed);
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
        return Select(batch, losses ?? BatchLosses.Zero(r), losses?.Total);
    }

    /// <summary>Per-RoI losses of the whole batch under the head's current weights, scored as the miner scores.</summary>
    public BatchLosses Score(FeatureMaps features, TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(batch);
        lock (_gate)
        {
            InstallHead();
            if (_features.Length != features.ElementCount)
            {
                _features = new float[features.ElementCount];
            }

            features.CopyTo(_features);
            var images = new ImageRoiSet[batch.Count];
            for (var image = 0; image < batch.Count; image++)
            {
                var start = batch.ImageOffsets[image];
                var end = batch.ImageOffsets[image + 1];
                images[image] = new ImageRoiSet(
                    Xyxy(batch.Rois.AsSpan(5 * start, 5 * (end - start))), batch.Labels[start..end], batch.Targets[(4 * start)..(4 * end)]);
            }

            var result = _scorer.Score(
                new ScoringBatch(_features, (features.Count, features.Channels, features.Height, features.Width), images), _version);
            var losses = BatchLosses.Zero(batch.RoiCount);
            for (var image = 0; image < batch.Count; image++)
            {
                result.Losses[image].CopyTo(losses.Total, batch.ImageOffsets[image]);
                result.ClassLosses[image].CopyTo(losses.Class, batch.ImageOffsets[image]);
                result.BoxLosses[image].CopyTo(losses.Box, batch.ImageOffsets[image]);
            }

            return losses;
        }
    }

    /// <summary>
    /// Installs the head's weights as the next version when they changed since the last install:
    /// copied into the spare set (no allocation), compared, and handed to the store, which builds
    /// the version's session over them.
    /// </summary>
    private void InstallHead()
    {
        var changed = false;
        foreach (var (name, values) in _spare)
        {
            _detector.CopyParameter(name, values);
            changed |= !values.AsSpan().SequenceEqual(_installed[name]);
        }

        if (changed)
        {
            _store.Install(++_version, _spare);
            (_installed, _spare) = (_spare, _installed);
        }
    }

    public void Dispose() => _store.Dispose();

    /// <summary>Runs the policy image by image over given losses (<paramref name="reportedLosses"/>:
    /// the whole-loss values the log and the response report, null when nothing was scored).</summary>
    public MinedBatch Select(TrainingBatch batch, BatchLosses losses, float[]? reportedLosses)
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
                losses.Total.AsSpan(start, end - start),
                batch.Labels.AsSpan(start, end - start),
                batch.MaxOverlaps.AsSpan(start, end - start),
                losses.Class.AsSpan(start, end - start),
                losses.Box.AsSpan(start, end - start)));
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
