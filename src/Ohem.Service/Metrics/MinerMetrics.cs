using System.Text;
using Ohem.Protocol.V1;
using Prometheus;

namespace Ohem.Service.Metrics;

/// <summary>
/// The miner's metrics (prometheus-net, in this miner's own registry), served at /metrics beside
/// Kestrel's and ASP.NET Core's meters (<see cref="ExportPlatformMetrics"/>).
/// </summary>
public sealed class MinerMetrics
{
    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public MinerMetrics()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        Batches = factory.CreateCounter("ohem_batches_total", "Batches mined, by job and outcome (ok or the gRPC status of the batch's error).", "job", "outcome");
        RoisScored = factory.CreateCounter("ohem_rois_scored_total", "RoIs scored by the read-only RoI network.", "job");
        RoisSelected = factory.CreateCounter("ohem_rois_selected_total", "RoIs selected for training, by job and kind (foreground or background).", "job", "kind");
        StageSeconds = factory.CreateHistogram("ohem_stage_seconds", "Time per batch in each stage of mining.", new HistogramConfiguration { Buckets = SecondsBuckets, LabelNames = ["stage"] });
        ScoredVersionsBehind = factory.CreateHistogram(
            "ohem_scored_versions_behind",
            "The miner's view of staleness: versions between the newest the job held when a batch was answered and the one that scored it.",
            new HistogramConfiguration { Buckets = [0, 1, 2, 3, 4, 8, 16, 64], LabelNames = ["job"] });
        WeightsVersion = factory.CreateGauge("ohem_weights_version", "Newest weights version held, by job.", "job");
        WeightsVersionsHeld = factory.CreateGauge("ohem_weights_versions_held", "Weights versions held, by job.", "job");
        WeightsBytes = factory.CreateGauge("ohem_weights_bytes", "Bytes of weights held, by job.", "job");
        Calls = factory.CreateCounter("ohem_calls_total", "gRPC calls finished, by method and status code.", "method", "code");
        BatchesInFlight = factory.CreateGauge("ohem_batches_in_flight", "Batches being mined or waiting, across all streams.");
        OpenStreams = factory.CreateGauge("ohem_mine_streams_open", "Open Mine streams.");
    }

    /// <summary>What /metrics serves.</summary>
    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    public Counter Batches { get; }

    public Counter RoisScored { get; }

    public Counter RoisSelected { get; }

    public Histogram StageSeconds { get; }

    public Histogram ScoredVersionsBehind { get; }

    public Gauge WeightsVersion { get; }

    public Gauge WeightsVersionsHeld { get; }

    public Gauge WeightsBytes { get; }

    public Counter Calls { get; }

    public Gauge BatchesInFlight { get; }

    public Gauge OpenStreams { get; }

    /// <summary>
    /// Exports the platform's own meters into <see cref="Registry"/> until disposed: Kestrel's and
    /// ASP.NET Core's (connections, requests and their durations, gRPC calls among them) and any
    /// grpc-dotnet publishes. (prometheus-net's event-counter adapter, which would bring
    /// grpc-dotnet's event counters, names a gauge "_total", which promtool rejects.)
    /// </summary>
    public IDisposable ExportPlatformMetrics() => MeterAdapter.StartListening(new MeterAdapterOptions
    {
        Registry = Registry,
        InstrumentFilterPredicate = i => i.Meter.Name.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal) || i.Meter.Name.StartsWith("Grpc.", StringComparison.Ordinal),
    });

    /// <summary>Counts one answered batch; <paramref name="newestHeld"/> is the job's newest version as it is answered.</summary>
    public void Record(string job, MineResponse response, ulong? newestHeld = null)
    {
        if (response.Error is { } error)
        {
            Batches.WithLabels(job, ((Grpc.Core.StatusCode)error.Code).ToString()).Inc();
            return;
        }

        Batches.WithLabels(job, "ok").Inc();
        if (newestHeld is { } newest)
        {
            // A version installed after the lease was taken makes the answer stale on arrival.
            ScoredVersionsBehind.WithLabels(job).Observe(newest > response.WeightsVersion ? newest - response.WeightsVersion : 0);
        }

        RoisScored.WithLabels(job).Inc(response.Images.Sum(i => i.Counts.Candidates + i.Counts.Ignored));
        RoisSelected.WithLabels(job, "foreground").Inc(response.Images.Sum(i => i.Counts.Foreground));
        RoisSelected.WithLabels(job, "background").Inc(response.Images.Sum(i => i.Counts.Background));
        var t = response.Timings;
        foreach (var (stage, ms) in new[] { ("queued", t.QueuedMs), ("decode", t.DecodeMs), ("pool", t.PoolMs), ("run", t.RunMs), ("loss", t.LossMs), ("select", t.SelectMs) })
        {
            StageSeconds.WithLabels(stage).Observe(ms / 1000);
        }
    }

    /// <summary>The exposition /metrics serves (Prometheus text format).</summary>
    public string Render()
    {
        using var text = new MemoryStream();
        Registry.CollectAndExportAsTextAsync(text).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(text.ToArray());
    }
}
