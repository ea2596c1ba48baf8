using System.Diagnostics;
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
        metrics.WeightsVersion.Set(2, "job \"a\"");
        metrics.Calls.Add(1, "/ohem.v1.HardExampleMiner/Mine", "OK");
        return metrics;
    }

    [Fact]
    public void Counts_roi_and_batch_outcomes_per_job()
    {
        var m = Sample();
        Assert.Equal(1, m.Batches.Value("job \"a\"", "ok"));
        Assert.Equal(1, m.Batches.Value("job \"a\"", "FailedPrecondition"));
        Assert.Equal(150, m.RoisScored.Value("job \"a\""));
        Assert.Equal(4, m.RoisSelected.Value("job \"a\"", "foreground"));
        Assert.Equal(12, m.RoisSelected.Value("job \"a\"", "background"));
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

    [Fact]
    public void Prometheus_promtool_accepts_the_exposition()
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
        process.StandardInput.Write(Sample().Render());
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "promtool did not finish");
        Assert.True(process.ExitCode == 0, $"promtool check metrics: {output}");
    }
}
