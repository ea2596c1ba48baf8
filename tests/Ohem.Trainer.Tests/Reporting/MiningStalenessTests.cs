using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class MiningStalenessTests
{
    private static MetricsLine Line(int step, bool? remote = null, long? staleness = null, long? version = null, bool? rescored = null, string? fallback = null) =>
        new(step, 0.01, 1, null, 0.25, 128, new Dictionary<string, double>(), 0.1, null, remote, version, staleness, rescored, fallback);

    [Fact]
    public void In_process_logs_have_no_staleness()
    {
        Assert.Null(MiningStaleness.Of([Line(1), Line(2)]));
    }

    [Fact]
    public void Remote_logs_are_counted()
    {
        var s = MiningStaleness.Of(
        [
            Line(1, remote: true, staleness: 0, version: 1),
            Line(2, remote: true, staleness: 1, version: 1, rescored: true),
            Line(3, remote: false, fallback: "unavailable"),
            Line(4, remote: true, staleness: 2, version: 3),
        ])!;
        Assert.Equal(4, s.Steps);
        Assert.Equal(3, s.RemoteSteps);
        Assert.Equal(1.0, s.MeanStaleness, 12);
        Assert.Equal(2, s.MaxStaleness);
        Assert.Equal(1, s.RescoredSteps);
        Assert.Equal(1, s.FallbackSteps);
        Assert.Equal(3, s.LastScoredVersion);
    }
}
