using Ohem.Trainer.Training;

namespace Ohem.Trainer.Mining;

/// <summary>How one batch was mined.</summary>
/// <param name="Batch">The selection to train on.</param>
/// <param name="Remote">True when the miner service chose it; false when it was mined in-process.</param>
/// <param name="FallbackReason">Why it was mined in-process (the miner's failure, or that the miner
/// is down and not due for a probe); null when <paramref name="Remote"/>.</param>
public sealed record MiningOutcome(MinedBatch Batch, bool Remote, string? FallbackReason);
