using FsCheck;
using FsCheck.Fluent;
using Ohem.Protocol.V1;
using Ohem.Service.Metrics;
using Ohem.Testing;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

/// <summary>The report reads the miner's own exposition (MinerMetrics.Render), not a hand-written copy of it.</summary>
public sealed class MinerViewTests
{
    private static MineResponse Answer(ulong version, double queuedMs) =>
        new() { WeightsVersion = version, Timings = new MineTimings { QueuedMs = queuedMs, RunMs = 10 } };

    [Fact]
    public void Reads_the_miners_staleness_and_stage_times_for_the_job()
    {
        var metrics = new MinerMetrics();
        metrics.Record("train-ohem", Answer(5, 2), newestHeld: 5);
        metrics.Record("train-ohem", Answer(5, 4), newestHeld: 5);
        metrics.Record("train-ohem", Answer(4, 6), newestHeld: 5);
        metrics.Record("train-ohem", Answer(1, 8), newestHeld: 5);
        metrics.Record("train-ohem", new MineResponse { Error = new BatchError { Code = 9, Message = "m" } });
        metrics.Record("other", Answer(1, 100), newestHeld: 90);
        metrics.WeightsVersion.WithLabels("train-ohem").Set(5);

        var view = MinerView.Of(PrometheusSample.Parse(metrics.Render()), "train-ohem")!;

        Assert.Equal(4, view.Answered);
        Assert.Equal(1, view.Failed);
        Assert.Equal((0 + 0 + 1 + 4) / 4.0, view.MeanBehind, 12);
        Assert.Equal(0.5, view.ShareNewest, 12);
        Assert.Equal(4, view.MaxBehindBound); // 4 behind falls in the le="4" bucket
        Assert.Equal(5, view.NewestVersion);
        // Stage times are over all jobs: queued (2 + 4 + 6 + 8 + 100) / 5 ms.
        Assert.Equal(24, view.StageMs.Single(s => s.Stage == "queued").Ms, 9);
    }

    [Fact]
    public void A_scrape_without_the_job_falls_back_to_its_only_job_or_to_nothing()
    {
        var metrics = new MinerMetrics();
        metrics.Record("renamed", Answer(3, 1), newestHeld: 3);
        Assert.Equal("renamed", MinerView.Of(PrometheusSample.Parse(metrics.Render()), "train-ohem")!.Job);
        metrics.Record("second", Answer(3, 1), newestHeld: 3);
        Assert.Null(MinerView.Of(PrometheusSample.Parse(metrics.Render()), "train-ohem"));
        Assert.Null(MinerView.Of([], "train-ohem"));
    }

    [Fact]
    public void Labels_round_trip_through_the_miners_escaping()
    {
        var text = Gen.Elements('a', 'b', '"', '\\', '\n', ',', '=', '{', '}', ' ').ArrayOf().Select(c => new string(c));
        Properties.Check(Prop.ForAll(text.ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), (label, value) =>
        {
            var registry = Prometheus.Metrics.NewCustomRegistry();
            Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("g", "help", "job", "kind").WithLabels(label, "x").Set(value);
            var sample = PrometheusSample.Parse(Render(registry)).Single();
            return sample.Labels["job"] == label && sample.Labels["kind"] == "x" && sample.Value == value;
        }));
    }

    [Fact]
    public void A_line_that_is_not_a_sample_names_its_number()
    {
        var e = Assert.Throws<FormatException>(() => PrometheusSample.Parse("# HELP x\nx 1\nx{job=unquoted} 2\n"));
        Assert.Contains("line 3", e.Message);
    }

    private static string Render(Prometheus.CollectorRegistry registry)
    {
        using var text = new MemoryStream();
        registry.CollectAndExportAsTextAsync(text).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(text.ToArray());
    }
}
