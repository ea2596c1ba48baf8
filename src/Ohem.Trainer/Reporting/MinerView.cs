using System.Globalization;

namespace Ohem.Trainer.Reporting;

/// <summary>
/// The miner's side of a run that mined through the service, from its /metrics scraped into the
/// run folder at the end (scripts/main.sh does): how many versions behind the newest it held each
/// answered batch was scored with, and where the miner spent its time per batch.
/// </summary>
/// <param name="Job">The job the figures are for.</param>
/// <param name="Answered">Batches answered without error.</param>
/// <param name="Failed">Batches answered with an error.</param>
/// <param name="MeanBehind">Mean versions behind the newest held, over answered batches (NaN when none).</param>
/// <param name="ShareNewest">Share of answered batches scored with the newest version held.</param>
/// <param name="MaxBehindBound">The smallest histogram bound that holds every answer (an upper bound on the worst).</param>
/// <param name="NewestVersion">The newest version the miner held for the job.</param>
/// <param name="StageMs">Mean milliseconds per batch in each of the miner's stages (over all jobs).</param>
public sealed record MinerView(
    string Job, long Answered, long Failed, double MeanBehind, double ShareNewest, double? MaxBehindBound, long? NewestVersion,
    IReadOnlyList<(string Stage, double Ms)> StageMs)
{
    /// <summary>The file in a run folder that holds the miner's metrics.</summary>
    public const string FileName = "miner-metrics.prom";

    /// <summary>The view of <paramref name="job"/> in <paramref name="folder"/>'s scrape, or null when there is none.</summary>
    /// <exception cref="InvalidDataException">The file is there but is not Prometheus text.</exception>
    public static MinerView? Load(string folder, string job)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return Of(PrometheusSample.Parse(File.ReadAllText(path)), job);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>The view of <paramref name="job"/> (or of the only job, if it is not there); null when the scrape has no job.</summary>
    public static MinerView? Of(IReadOnlyList<PrometheusSample> samples, string job)
    {
        var jobs = samples.Where(s => s.Name == "ohem_batches_total").Select(s => s.Labels.GetValueOrDefault("job")).OfType<string>().Distinct().ToList();
        if (!jobs.Contains(job))
        {
            if (jobs.Count != 1)
            {
                return null;
            }

            job = jobs[0];
        }

        bool Of(PrometheusSample s, string name) => s.Name == name && s.Labels.GetValueOrDefault("job") == job;
        var batches = samples.Where(s => Of(s, "ohem_batches_total")).ToList();
        var answered = (long)batches.Where(s => s.Labels.GetValueOrDefault("outcome") == "ok").Sum(s => s.Value);
        var failed = (long)batches.Where(s => s.Labels.GetValueOrDefault("outcome") != "ok").Sum(s => s.Value);

        var count = samples.FirstOrDefault(s => Of(s, "ohem_scored_versions_behind_count"))?.Value ?? 0;
        var sum = samples.FirstOrDefault(s => Of(s, "ohem_scored_versions_behind_sum"))?.Value ?? 0;
        var buckets = samples.Where(s => Of(s, "ohem_scored_versions_behind_bucket"))
            .Select(s => (Bound: Bound(s.Labels.GetValueOrDefault("le")), Cumulative: s.Value))
            .Where(b => b.Bound is not null).OrderBy(b => b.Bound).ToList();
        var atZero = buckets.FirstOrDefault(b => b.Bound == 0).Cumulative;
        var maxBound = count > 0 ? buckets.FirstOrDefault(b => b.Cumulative >= count).Bound : null;
        var newest = samples.FirstOrDefault(s => Of(s, "ohem_weights_version"))?.Value;

        var stages = samples.Where(s => s.Name == "ohem_stage_seconds_sum")
            .Select(s => (Stage: s.Labels.GetValueOrDefault("stage") ?? "?", Sum: s.Value,
                Count: samples.FirstOrDefault(c => c.Name == "ohem_stage_seconds_count" && c.Labels.GetValueOrDefault("stage") == s.Labels.GetValueOrDefault("stage"))?.Value ?? 0))
            .Where(s => s.Count > 0).Select(s => (s.Stage, s.Sum / s.Count * 1000)).ToList();

        return new MinerView(job, answered, failed, count > 0 ? sum / count : double.NaN, count > 0 ? atZero / count : double.NaN,
            maxBound, newest is { } n ? (long)n : null, stages);
    }

    private static double? Bound(string? le) =>
        le is null ? null : le == "+Inf" ? double.PositiveInfinity : double.TryParse(le, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
}
