using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Mining;

namespace Ohem.Trainer.Training;

/// <summary>
/// Mining through the miner service with bounded staleness s (<c>--max-staleness</c>).
/// s = 0: the paper's synchronous OHEM: the batch's feature maps go to the miner, which scores
/// them with exactly the trainer's newest published weights, and the trainer waits.
/// s &gt;= 1: batch t + 1 is prepared (data, a backbone pass, sent for mining) before batch t trains,
/// so the miner scores it while the trainer runs the head's forward and backward; the trainer then
/// runs the backbone again with the updated weights for its own forward and backward. An answer
/// scored with weights more than s versions old is not used: the batch is scored again, waiting
/// for a newer version. When the miner is down the batch is mined in process with the live weights
/// (<see cref="FailoverMiner"/>), and the run goes on.
/// </summary>
internal sealed class RemoteBatchSource : IBatchSource
{
    // What FailoverMiner hands back when it falls back: the real in-process mining runs later, on
    // the fresh feature maps, in Next.
    private static readonly MinedBatch MineLocally = new([], null, null);

    private readonly Detector _detector;
    private readonly InProcessMiner _local;
    private readonly FailoverMiner _miner;
    private readonly DetectionDataset _train;
    private readonly BatchOrder _order;
    private readonly StalenessGate _gate;
    private readonly int _publishEvery;
    private readonly int _steps;
    private readonly bool _publisher;
    private ulong _version = 1; // the newest version published (1: the initial weights, at connect)
    private Pending? _pending;
    private Task _publishing = Task.CompletedTask;
    private ulong _batchIds;

    public RemoteBatchSource(
        Detector detector, InProcessMiner local, FailoverMiner miner, DetectionDataset train, BatchOrder order,
        int maxStaleness, int publishEvery, int steps, bool publisher)
    {
        _detector = detector;
        _local = local;
        _miner = miner;
        _train = train;
        _order = order;
        _gate = new StalenessGate(maxStaleness);
        _publishEvery = publishEvery;
        _steps = steps;
        _publisher = publisher;
    }

    public PreparedBatch Next(int step, StageTimer timer)
    {
        if (_gate.MaxStaleness == 0)
        {
            var batch = timer.Time(Stage.Data, () => TrainingBatches.Build(_train, _order.Next()));
            var features = timer.Time(Stage.Backbone, () => _detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size));
            var sent = Send(batch, features, _version);
            return Finish(sent, features, timer, rescored: false);
        }

        var current = _pending ?? Prepare(_version, timer);
        // Batch t + 1 goes out before batch t trains; it will be used after this step's update
        // (and this step's publish, when there is one).
        _pending = step < _steps ? Prepare(_version + (PublishesAt(step) ? 1UL : 0UL), timer) : null;
        var fresh = timer.Time(Stage.Backbone, () => _detector.Backbone(current.Batch.Images, current.Batch.Count, current.Batch.Size, current.Batch.Size));
        return Finish(current, fresh, timer, rescored: false);
    }

    public void AfterStep(int step, StageTimer timer)
    {
        if (!PublishesAt(step))
        {
            return;
        }

        _version++;
        if (_publisher)
        {
            // The upload and the miner's install overlap the next step; versions still go out in
            // order because each publish first waits for the one before it.
            var version = _version;
            timer.Time(Stage.Publish, () =>
            {
                var weights = _detector.HeadWeights();
                _publishing.GetAwaiter().GetResult();
                _publishing = _miner.PublishAsync(version, weights);
            });
        }
    }

    public void Dispose()
    {
        try
        {
            _publishing.GetAwaiter().GetResult();
        }
        finally
        {
            _miner.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private bool PublishesAt(int step) => step % _publishEvery == 0;

    /// <summary>Data and a backbone pass for the miner's copy of the features, sent at once.</summary>
    private Pending Prepare(ulong versionAtUse, StageTimer timer)
    {
        var batch = timer.Time(Stage.Data, () => TrainingBatches.Build(_train, _order.Next()));
        using var features = timer.Time(Stage.Backbone, () => _detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size));
        return Send(batch, features, versionAtUse);
    }

    /// <summary>Sends a copy of <paramref name="features"/> (the miner's) with the batch.</summary>
    private Pending Send(TrainingBatch batch, FeatureMaps features, ulong versionAtUse)
    {
        // A fresh id per request, a rescoring included: the session may still hold an earlier one.
        var task = _miner.MineAsync(
            batch, features.ToArray(), features.Channels, features.Height, features.Width, ++_batchIds,
            _gate.MinimumVersion(versionAtUse), () => MineLocally);
        return new Pending(batch, task);
    }

    private PreparedBatch Finish(Pending pending, FeatureMaps fresh, StageTimer timer, bool rescored)
    {
        var outcome = timer.Time(Stage.Mining, () => pending.Task.GetAwaiter().GetResult());
        if (outcome.Remote && !_gate.Accepts(outcome, _version))
        {
            // Too stale: score again with the fresh features, at least at the oldest acceptable version.
            var again = Send(pending.Batch, fresh, _version);
            return Finish(again, fresh, timer, rescored: true);
        }

        if (!outcome.Remote)
        {
            var local = timer.Time(Stage.Mining, () => _local.Mine(fresh, pending.Batch));
            return new PreparedBatch(pending.Batch, fresh, local, new MiningInfo(false, 0, _version, rescored, outcome.FallbackReason));
        }

        return new PreparedBatch(
            pending.Batch, fresh, outcome.Batch, new MiningInfo(true, outcome.Batch.WeightsVersion, _version, rescored, null));
    }

    private sealed record Pending(TrainingBatch Batch, Task<MiningOutcome> Task);
}
