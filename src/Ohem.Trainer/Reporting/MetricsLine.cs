namespace Ohem.Trainer.Reporting;

/// <summary>
/// One step of a run's metrics.jsonl as the report reads it. The fields the miner service adds
/// (remote, scored/weights version, staleness, rescored, fallback) are null when the line lacks them.
/// </summary>
/// <param name="Step">1-based iteration.</param>
/// <param name="LearningRate">lr.</param>
/// <param name="LossSelected">loss_selected: the training loss over the selected RoIs.</param>
/// <param name="LossAll">loss_all: mean loss over all RoIs, null on steps that did not score them.</param>
/// <param name="ForegroundFraction">fg_fraction of the selected RoIs.</param>
/// <param name="Selected">RoIs trained on.</param>
/// <param name="Seconds">Seconds per stage, keyed as logged (data, backbone, mining, ...).</param>
/// <param name="IterationSeconds">iteration_seconds: all stages but the probe.</param>
/// <param name="ValidationMap">val_map, null except on evaluation steps and the last.</param>
/// <param name="Remote">remote: mined by the miner service (true) or in process (false).</param>
/// <param name="ScoredVersion">The head version that scored the batch (scored_version or weights_version).</param>
/// <param name="Staleness">staleness: trainer version minus scored version.</param>
/// <param name="Rescored">rescored: the scoring was too stale and redone.</param>
/// <param name="Fallback">fallback: why the step was mined in process instead of remotely.</param>
public sealed record MetricsLine(
    int Step,
    double LearningRate,
    double LossSelected,
    double? LossAll,
    double ForegroundFraction,
    int Selected,
    IReadOnlyDictionary<string, double> Seconds,
    double IterationSeconds,
    double? ValidationMap,
    bool? Remote = null,
    long? ScoredVersion = null,
    long? Staleness = null,
    bool? Rescored = null,
    string? Fallback = null);
