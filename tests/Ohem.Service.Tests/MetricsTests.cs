using System.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Ohem.Protocol.V1;
using Ohem.Service.Metrics;

namespace Ohem.Service.Tests;

public class MetricsTests
{
    private static MinerMetrics Sample()
    {
        var metrics = new MinerMetrics();
        var ok = new MineResponse
        {
            BatchId = 1,
            WeightsVersion = 2,
            Timings = new MineTimings { DecodeMs = 0.5, RunMs = 40, PoolMs = 7, LossMs = 1, SelectMs = 2 },
        };
        ok.Images.Add(new ImageSelection { Counts = new Protocol.V1.SelectionCounts { Candidates = 90, Ignored = 10, Foreground = 3, Background = 5 } });
        ok.Images.Add(new ImageSelection { Counts = new Protocol.V1.SelectionCounts { Candidates = 50, Foreground = 1, Background = 7 } });
        metrics.Record("job \"a\"", ok, newestHeld: 5);
        metrics.Record("job \"a\"", new MineResponse { Error = new BatchError { Code = 9, Message = "m" } });
        metrics.WeightsVersion.WithLabels("job \"a\"").Set(2);
        metrics.Calls.WithLabels("/ohem.v1.HardExampleMiner/Mine", "OK").Inc();
        return metrics;
    }

    [Fact]
    public void Counts_roi_and_batch_outcomes_per_job()
    {
        var m = Sample();
        Assert.Equal(1, m.Batches.WithLabels("job \"a\"", "ok").Value);
        Assert.Equal(1, m.Batches.WithLabels("job \"a\"", "FailedPrecondition").Value);
        Assert.Equal(150, m.RoisScored.WithLabels("job \"a\"").Value);
        Assert.Equal(4, m.RoisSelected.WithLabels("job \"a\"", "foreground").Value);
        Assert.Equal(12, m.RoisSelected.WithLabels("job \"a\"", "background").Value);
    }

    [Fact]
    public void Renders_cumulative_histogram_buckets_and_escaped_labels()
    {
        var text = Sample().Render();
        Assert.Contains("ohem_rois_selected_total{job=\"job \\\"a\\\"\",kind=\"foreground\"} 4\n", text);
        // run took 40 ms: below 0.05 s and every larger bound, not below 0.025 s.
        Assert.Contains("ohem_stage_seconds_bucket{stage=\"run\",le=\"0.025\"} 0\n", text);
        Assert.Contains("ohem_stage_seconds_bucket{stage=\"run\",le=\"0.05\"} 1\n", text);
        Assert.Contains("ohem_stage_seconds_bucket{stage=\"run\",le=\"+Inf\"} 1\n", text);
        Assert.Contains("ohem_stage_seconds_sum{stage=\"run\"} 0.04\n", text);
        Assert.Contains("# TYPE ohem_stage_seconds histogram\n", text);
        // Scored with version 2 while 5 was the newest held: 3 versions behind, in the le="3" bucket and not le="2".
        Assert.Contains("ohem_scored_versions_behind_bucket{job=\"job \\\"a\\\"\",le=\"2\"} 0\n", text);
        Assert.Contains("ohem_scored_versions_behind_bucket{job=\"job \\\"a\\\"\",le=\"3\"} 1\n", text);
        Assert.Contains("ohem_scored_versions_behind_sum{job=\"job \\\"a\\\"\"} 3\n", text);
    }

    /// <summary>
    /// The running miner's /metrics (prometheus-net on its HTTP/1.1 port): our families with the
    /// calls counted by the interceptor, the platform's meters connected, and promtool accepts it all.
    /// </summary>
    [Fact]
    public async Task The_served_metrics_hold_ours_and_kestrels_and_promtool_accepts_them()
    {
        await using var miner = await LoopbackMiner.StartAsync(("Miner:MetricsListen", "http://127.0.0.1:0"));
        await new HardExampleMiner.HardExampleMinerClient(miner.Channel).GetStatusAsync(new GetStatusRequest());
        var addresses = miner.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(new Uri(addresses.Single(a => new Uri(a) != miner.Address)), "/metrics"));
        Assert.Contains("ohem_calls_total{method=\"/ohem.v1.HardExampleMiner/GetStatus\",code=\"OK\"} 1\n", text);
        Assert.Contains("# TYPE ohem_batches_total counter", text);
        // Kestrel's and ASP.NET Core's meters are connected to the same registry (their series appear as they are measured).
        var connected = text.Split('\n').Single(l => l.StartsWith("prometheus_net_meteradapter_instruments_connected ", StringComparison.Ordinal));
        Assert.True(double.Parse(connected.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) > 0, connected);
        CheckWithPromtool(text);
    }

    [Fact]
    public void Prometheus_promtool_accepts_the_exposition() => CheckWithPromtool(Sample().Render());

    private static void CheckWithPromtool(string exposition)
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        const string promtool = "/usr/bin/promtool";
        if (!File.Exists(promtool))
        {
            Assert.False(ci, "promtool is missing under CI: scripts/setup.sh installs Debian's prometheus");
            return; // outside CI without Prometheus there is nothing to check against
        }

        var psi = new ProcessStartInfo(promtool, ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        process.StandardInput.Write(exposition);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "promtool did not finish");
        Assert.True(process.ExitCode == 0, $"promtool check metrics: {output}");
    }
}
