using Ohem.Torch;
using Ohem.Trainer.Data;

namespace Ohem.Trainer.Training;

/// <summary>How a batch was mined, for the log: where, with which weights, and how stale.</summary>
/// <param name="Remote">Whether the miner service chose the RoIs (false: in-process, the fallback).</param>
/// <param name="ScoredVersion">The head version that scored the batch (0 when mined in process).</param>
/// <param name="TrainerVersion">The newest version the trainer had published when it trained on the batch.</param>
/// <param name="Rescored">Whether the first answer was too stale and the batch was scored again.</param>
/// <param name="FallbackReason">Why the batch was mined in process, when it was.</param>
public sealed record MiningInfo(bool Remote, ulong ScoredVersion, ulong TrainerVersion, bool Rescored, string? FallbackReason)
{
    /// <summary>Versions between the trainer's and the scoring's (0 for in-process mining).</summary>
    public ulong Staleness => Remote ? TrainerVersion - Math.Min(TrainerVersion, ScoredVersion) : 0;
}

/// <summary>A batch ready to train on: its data, fresh feature maps (graph kept) and the mined RoIs.</summary>
public sealed record PreparedBatch(TrainingBatch Batch, FeatureMaps Features, MinedBatch Mined, MiningInfo? Mining = null);

/// <summary>Where each step's batch and its hard RoIs come from.</summary>
public interface IBatchSource : IDisposable
{
    /// <summary>The batch of 1-based <paramref name="step"/>, with its stages timed into <paramref name="timer"/>.</summary>
    PreparedBatch Next(int step, StageTimer timer);

    /// <summary>Called after the SGD update of <paramref name="step"/> (e.g. to publish the weights).</summary>
    void AfterStep(int step, StageTimer timer);
}
