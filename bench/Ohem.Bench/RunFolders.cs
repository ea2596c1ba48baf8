using System.Text.Json;
using Ohem.Trainer.Reporting;
using Ohem.Trainer.Training;

namespace Ohem.Bench;

/// <summary>A finished training run as the learning benchmarks read it.</summary>
/// <param name="MeanAp">Validation mAP after the last step.</param>
/// <param name="IterationSeconds">Mean iteration time after the warm-up (the probe excluded).</param>
/// <param name="FinalLossAll">Training loss over all RoIs at the end (<see cref="RunCurves.FinalLossAll"/>).</param>
/// <param name="Lines">The run's metrics log.</param>
/// <param name="Reused">Read from a folder a previous invocation trained, not trained now.</param>
internal sealed record FinishedRun(double MeanAp, double IterationSeconds, double? FinalLossAll, IReadOnlyList<MetricsLine> Lines, bool Reused);

/// <summary>
/// The learning benchmarks' runs, each in its own folder. A folder that already holds the same
/// run, finished (run.json equal but for where it mined and its output folder, the last step
/// logged with its mAP, the checkpoint saved), is read instead of trained again: runs are
/// deterministic for their options, so a table can be rebuilt, or its runs spread over several
/// invocations, without changing a figure (iteration times are then those of the invocation that
/// trained them).
/// </summary>
internal static class RunFolders
{
    public static FinishedRun TrainOrReuse(TrainOptions run, Action<MetricsRecord>? onStep = null)
    {
        if (TryReuse(run) is { } finished)
        {
            return finished;
        }

        var summary = TrainingRun.Run(run, onStep);
        var lines = MetricsFile.Read(Path.Combine(run.Output, TrainingRun.MetricsFile));
        return new FinishedRun(summary.Validation.MeanAp, summary.MeanIterationSeconds, RunCurves.FinalLossAll(lines), lines, Reused: false);
    }

    private static FinishedRun? TryReuse(TrainOptions run)
    {
        var folder = run.Output;
        if (!File.Exists(Path.Combine(folder, TrainingRun.RunFile)) || !File.Exists(Path.Combine(folder, TrainingRun.CheckpointFile))
            || !File.Exists(Path.Combine(folder, TrainingRun.MetricsFile)))
        {
            return null;
        }

        TrainOptions stored;
        IReadOnlyList<MetricsLine> lines;
        try
        {
            stored = TrainingRun.ReadRunFile(folder);
            lines = MetricsFile.Read(Path.Combine(folder, TrainingRun.MetricsFile));
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            return null; // not a run we can read: train it again
        }

        // run.json holds the detector options with the run's seed (TrainingRun writes it so).
        if (Key(stored) != Key(run with { Detector = run.Detector with { Seed = run.Seed } })
            || lines.Count == 0 || lines[^1].Step != run.Steps || lines[^1].ValidationMap is not { } map)
        {
            return null;
        }

        return new FinishedRun(map, IterationTimes.Of(lines).Iteration, RunCurves.FinalLossAll(lines), lines, Reused: true);
    }

    /// <summary>
    /// The options that decide what a run learns: not where it is written, which miner address it
    /// used or how it reconnects, nor (in process) the miner settings it never read.
    /// </summary>
    private static string Key(TrainOptions options)
    {
        var remote = options.Miners.Count > 0;
        return JsonSerializer.Serialize(options with
        {
            Output = "",
            JobId = null,
            Miners = remote ? ["remote"] : [],
            MinerToken = null,
            MinerProbeSeconds = 0,
            MaxStaleness = remote ? options.MaxStaleness : 0,
            PublishEvery = remote ? options.PublishEvery : 1,
            Rank = remote ? options.Rank : 0,
        });
    }
}
