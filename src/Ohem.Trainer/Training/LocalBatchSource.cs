using Ohem.Torch;
using Ohem.Trainer.Data;

namespace Ohem.Trainer.Training;

/// <summary>
/// Synchronous in-process mining (the paper's setting, one process): data, backbone, the live
/// head scores every RoI, the policy selects. For policies that do not score (fgbg) every
/// <c>ProbeEvery</c> steps all RoIs are scored anyway for the log, timed apart.
/// </summary>
internal sealed class LocalBatchSource(Detector detector, InProcessMiner miner, DetectionDataset train, BatchOrder order, int probeEvery)
    : IBatchSource
{
    public PreparedBatch Next(int step, StageTimer timer)
    {
        var indices = order.Next();
        var batch = timer.Time(Stage.Data, () => TrainingBatches.Build(train, indices));
        var features = timer.Time(Stage.Backbone, () => detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size));
        var mined = timer.Time(Stage.Mining, () => miner.Mine(features, batch));
        if (!miner.ScoresEveryBatch && (step % probeEvery == 0 || step == 1))
        {
            var losses = timer.Time(Stage.Probe, () => miner.Score(features, batch));
            mined = mined with { LossAll = MinedBatch.MeanOverLabelled(losses.Total, batch.Labels) };
        }

        return new PreparedBatch(batch, features, mined);
    }

    public void AfterStep(int step, StageTimer timer)
    {
    }

    public void Dispose()
    {
    }
}
