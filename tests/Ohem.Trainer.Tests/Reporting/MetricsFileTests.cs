using System.Text.Json;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class MetricsFileTests : IDisposable
{
    private const string InProcess =
        """{"step":3,"lr":0.01,"loss_selected":1.5,"loss_all":null,"fg_fraction":0.25,"selected":128,"seconds":{"data":0.001,"backbone":0.02,"mining":0.003,"head_fwd_bwd":0.04,"sgd_step":0.005,"probe":0},"iteration_seconds":0.069,"val_map":null}""";

    private const string Remote =
        """{"step":4,"lr":0.01,"loss_selected":1.25,"loss_all":0.75,"fg_fraction":0.5,"selected":64,"seconds":{"data":0.001,"backbone":0.02,"mining":0.003,"head_fwd_bwd":0.04,"sgd_step":0.005,"publish":0.002,"probe":0,"future_stage":0.5},"iteration_seconds":0.071,"val_map":0.4,"remote":true,"scored_version":7,"trainer_version":9,"staleness":2,"rescored":false,"fallback":"miner down","something_new":[1,2]}""";

    private readonly string _path = Path.Combine(Path.GetTempPath(), $"ohem-metrics-{Guid.NewGuid():N}.jsonl");

    [Fact]
    public void A_line_of_an_in_process_run_reads_with_nulls_and_no_mining_fields()
    {
        var line = MetricsFile.Parse(JsonDocument.Parse(InProcess).RootElement);
        Assert.Equal(3, line.Step);
        Assert.Equal(1.5, line.LossSelected, 6);
        Assert.Null(line.LossAll);
        Assert.Null(line.ValidationMap);
        Assert.Equal(0.04, line.Seconds["head_fwd_bwd"], 9);
        Assert.Equal(0.069, line.IterationSeconds, 9);
        Assert.Null(line.Remote);
        Assert.Null(line.Staleness);
        Assert.Null(line.ScoredVersion);
        Assert.Null(line.Fallback);
    }

    [Fact]
    public void Fields_the_miner_service_adds_are_read_and_unknown_ones_tolerated()
    {
        var line = MetricsFile.Parse(JsonDocument.Parse(Remote).RootElement);
        Assert.Equal(0.75, line.LossAll!.Value, 6);
        Assert.Equal(0.4, line.ValidationMap!.Value, 6);
        Assert.True(line.Remote);
        Assert.Equal(7, line.ScoredVersion);
        Assert.Equal(2, line.Staleness);
        Assert.False(line.Rescored);
        Assert.Equal("miner down", line.Fallback);
        Assert.Equal(0.5, line.Seconds["future_stage"], 9);
        Assert.Equal(0.002, line.Seconds["publish"], 9);
    }

    [Fact]
    public void Weights_version_is_read_where_scored_version_is_absent()
    {
        var line = MetricsFile.Parse(JsonDocument.Parse(InProcess.Replace("\"val_map\":null", "\"val_map\":null,\"weights_version\":12", StringComparison.Ordinal)).RootElement);
        Assert.Equal(12, line.ScoredVersion);
    }

    [Fact]
    public void A_file_reads_every_line_and_skips_blank_ones()
    {
        File.WriteAllText(_path, InProcess + "\n\n" + Remote + "\n");
        var lines = MetricsFile.Read(_path);
        Assert.Equal([3, 4], lines.Select(l => l.Step));
    }

    [Theory]
    [InlineData("{\"step\":1,\"seconds\":{}}", "\"loss_selected\"")]
    [InlineData("not json", "line 2")]
    [InlineData("[1, 2]", "expected an object")]
    public void A_bad_line_is_reported_with_the_file_and_its_number(string bad, string expected)
    {
        File.WriteAllText(_path, InProcess + "\n" + bad + "\n");
        var e = Assert.Throws<InvalidDataException>(() => MetricsFile.Read(_path));
        Assert.Contains(_path, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_empty_file_is_named()
    {
        Assert.Contains(_path, Assert.Throws<FileNotFoundException>(() => MetricsFile.Read(_path)).Message, StringComparison.Ordinal);
        File.WriteAllText(_path, "\n");
        Assert.Contains("no steps", Assert.Throws<InvalidDataException>(() => MetricsFile.Read(_path)).Message, StringComparison.Ordinal);
    }

    public void Dispose() => File.Delete(_path);
}
