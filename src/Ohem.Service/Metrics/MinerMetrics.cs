using System.Text;
using Ohem.Protocol.V1;

namespace Ohem.Service.Metrics;

/// <summary>The miner's metrics, served as Prometheus text at /metrics.</summary>
public sealed class MinerMetrics
{
    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public MetricFamily Batches { get; } = MetricFamily.Counter("ohem_batches_total", "Batches mined, by job and outcome (ok or the gRPC status of the batch's error).", "job", "outcome");

    public MetricFamily RoisScored { get; } = MetricFamily.Counter("ohem_rois_scored_total", "RoIs scored by the read-only RoI network.", "job");

    public MetricFamily RoisSelected { get; } = MetricFamily.Counter("ohem_rois_selected_total", "RoIs selected for training, by job and kind (foreground or background).", "job", "kind");

    public MetricFamily StageSeconds { get; } = MetricFamily.Histogram("ohem_stage_seconds", "Time per batch in each stage of mining.", SecondsBuckets, "stage");

    public MetricFamily ScoredVersionsBehind { get; } = MetricFamily.Histogram(
        "ohem_scored_versions_behind",
        "The miner's view of staleness: versions between the newest the job held when a batch was answered and the one that scored it.",
        [0, 1, 2, 3, 4, 8, 16, 64], "job");

    public MetricFamily WeightsVersion { get; } = MetricFamily.Gauge("ohem_weights_version", "Newest weights version held, by job.", "job");

    public MetricFamily WeightsVersionsHeld { get; } = MetricFamily.Gauge("ohem_weights_versions_held", "Weights versions held, by job.", "job");

    public MetricFamily WeightsBytes { get; } = MetricFamily.Gauge("ohem_weights_bytes", "Bytes of weights held, by job.", "job");

    public MetricFamily Calls { get; } = MetricFamily.Counter("ohem_calls_total", "gRPC calls finished, by method and status code.", "method", "code");

    public MetricFamily BatchesInFlight { get; } = MetricFamily.Gauge("ohem_batches_in_flight", "Batches being mined or waiting, across all streams.");

    public MetricFamily OpenStreams { get; } = MetricFamily.Gauge("ohem_mine_streams_open", "Open Mine streams.");

    private IEnumerable<MetricFamily> All =>
        [Batches, RoisScored, RoisSelected, StageSeconds, ScoredVersionsBehind, WeightsVersion, WeightsVersionsHeld, WeightsBytes, Calls, BatchesInFlight, OpenStreams];

    /// <summary>Counts one answered batch; <paramref name="newestHeld"/> is the job's newest version as it is answered.</summary>
    public void Record(string job, MineResponse response, ulong? newestHeld = null)
    {
        if (response.Error is { } error)
        {
            Batches.Add(1, job, ((Grpc.Core.StatusCode)error.Code).ToString());
            return;
        }

        Batches.Add(1, job, "ok");
        if (newestHeld is { } newest)
        {
            // A version installed after the lease was taken makes the answer stale on arrival.
            ScoredVersionsBehind.Observe(newest > response.WeightsVersion ? newest - response.WeightsVersion : 0, job);
        }

        RoisScored.Add(response.Images.Sum(i => i.Counts.Candidates + i.Counts.Ignored), job);
        RoisSelected.Add(response.Images.Sum(i => i.Counts.Foreground), job, "foreground");
        RoisSelected.Add(response.Images.Sum(i => i.Counts.Background), job, "background");
        var t = response.Timings;
        foreach (var (stage, ms) in new[] { ("queued", t.QueuedMs), ("decode", t.DecodeMs), ("pool", t.PoolMs), ("run", t.RunMs), ("loss", t.LossMs), ("select", t.SelectMs) })
        {
            StageSeconds.Observe(ms / 1000, stage);
        }
    }

    public string Render()
    {
        var text = new StringBuilder();
        foreach (var family in All)
        {
            family.Render(text);
        }

        return text.ToString();
    }
}
