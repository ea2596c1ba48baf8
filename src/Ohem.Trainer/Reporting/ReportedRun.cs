using System.Text.Json;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Reporting;

/// <summary>
/// A finished run folder as the report reads it: its options (run.json, typed and raw, so fields
/// added to the options later still show), its metrics log, and where its checkpoint is.
/// </summary>
/// <param name="Folder">The run folder (full path).</param>
/// <param name="Label">The run's name in tables and legends (the folder's name, made unique).</param>
/// <param name="Options">run.json as TrainOptions.</param>
/// <param name="Settings">run.json as written, for settings TrainOptions may not know.</param>
/// <param name="Lines">metrics.jsonl, one entry per step.</param>
public sealed record ReportedRun(string Folder, string Label, TrainOptions Options, JsonElement Settings, IReadOnlyList<MetricsLine> Lines)
{
    /// <summary>The checkpoint to evaluate.</summary>
    public string Checkpoint => Path.Combine(Folder, TrainingRun.CheckpointFile);

    /// <summary>Means per stage after the warm-up.</summary>
    public IterationTimes Times { get; } = IterationTimes.Of(Lines);

    /// <summary>The mining staleness the trainer logged, or null for in-process runs.</summary>
    public MiningStaleness? Staleness { get; } = MiningStaleness.Of(Lines);

    /// <summary>The miner's view of the run (its metrics scraped into the folder), or null when not scraped.</summary>
    public MinerView? Miner { get; } = MinerView.Load(Folder, TrainingRun.JobIdOf(Options));

    /// <summary>
    /// Reads <paramref name="folder"/>: run.json, metrics.jsonl and the checkpoint must be there.
    /// </summary>
    /// <exception cref="ArgumentException">The folder does not exist (the message names it).</exception>
    /// <exception cref="FileNotFoundException">A file of the run is missing (the message names it).</exception>
    /// <exception cref="InvalidDataException">run.json or metrics.jsonl cannot be read.</exception>
    public static ReportedRun Load(string folder, string label)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            throw new ArgumentException($"run folder {full} does not exist; expected a folder written by `train`.", nameof(folder));
        }

        TrainOptions options;
        JsonElement settings;
        try
        {
            options = TrainingRun.ReadRunFile(full);
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(full, TrainingRun.RunFile)));
            settings = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{Path.Combine(full, TrainingRun.RunFile)}: {e.Message}", e);
        }

        var lines = MetricsFile.Read(Path.Combine(full, TrainingRun.MetricsFile));
        var checkpoint = Path.Combine(full, TrainingRun.CheckpointFile);
        if (!File.Exists(checkpoint))
        {
            throw new FileNotFoundException($"{checkpoint} does not exist; expected the checkpoint a finished `train` run saves.", checkpoint);
        }

        return new ReportedRun(full, label, options, settings, lines);
    }

    /// <summary>The sampler's canonical (lower-case) name.</summary>
    public string Sampler => Options.Sampler.ToLowerInvariant();

    /// <summary>val_map of the last step that logged one, or null.</summary>
    public double? LoggedFinalMap => Lines.LastOrDefault(l => l.ValidationMap is not null)?.ValidationMap;
}
