namespace Ohem.Trainer.Reporting;

/// <summary>
/// How old the weights that scored a run's batches were, as the trainer logged it (present only
/// when the run mined through the miner service).
/// </summary>
/// <param name="Steps">Steps logged.</param>
/// <param name="RemoteSteps">Steps mined by the service.</param>
/// <param name="MeanStaleness">Mean versions between the trainer's head and the one that scored, over steps that logged it.</param>
/// <param name="MaxStaleness">The largest staleness logged.</param>
/// <param name="RescoredSteps">Steps whose scoring was redone because it was too stale.</param>
/// <param name="FallbackSteps">Steps mined in process because the service failed.</param>
/// <param name="LastScoredVersion">The scoring version of the last step that logged one.</param>
public sealed record MiningStaleness(
    int Steps, int RemoteSteps, double MeanStaleness, long MaxStaleness, int RescoredSteps, int FallbackSteps, long? LastScoredVersion)
{
    /// <summary>The summary of <paramref name="lines"/>, or null when no line carries mining fields.</summary>
    public static MiningStaleness? Of(IReadOnlyList<MetricsLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (!lines.Any(l => l.Remote is not null || l.Staleness is not null || l.ScoredVersion is not null))
        {
            return null;
        }

        var stale = lines.Where(l => l.Staleness is not null).Select(l => l.Staleness!.Value).ToList();
        return new MiningStaleness(
            lines.Count,
            lines.Count(l => l.Remote == true),
            stale.Count == 0 ? double.NaN : stale.Average(),
            stale.Count == 0 ? 0 : stale.Max(),
            lines.Count(l => l.Rescored == true),
            lines.Count(l => l.Fallback is not null),
            lines.LastOrDefault(l => l.ScoredVersion is not null)?.ScoredVersion);
    }
}
