using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class IterationTimesTests
{
    private static MetricsLine Line(int step, double data, double mining, double probe = 0, double? publish = null)
    {
        var seconds = new Dictionary<string, double> { ["mining"] = mining, ["probe"] = probe, ["data"] = data };
        if (publish is { } p)
        {
            seconds["publish"] = p;
        }

        return new MetricsLine(step, 0.01, 1, null, 0.25, 128, seconds, data + mining + (publish ?? 0), null);
    }

    [Fact]
    public void Means_leave_out_the_first_ten_steps()
    {
        // Steps 1..10 cost 1 s each; 11..14 cost 0.1, 0.2, 0.3, 0.4 s of mining.
        var lines = Enumerable.Range(1, 10).Select(s => Line(s, 0.5, 0.5))
            .Concat(Enumerable.Range(11, 4).Select(s => Line(s, 0, (s - 10) / 10.0))).ToList();
        var times = IterationTimes.Of(lines);
        Assert.Equal(0.25, times.Iteration, 12);
        Assert.Equal(0.25, times.Stage("mining")!.Value, 12);
        Assert.Equal(0, times.Stage("data")!.Value, 12);
        Assert.Equal(11, times.FirstStep);
        Assert.Equal(4, times.Steps);
        Assert.Null(times.Stage("publish"));
    }

    [Fact]
    public void Stages_come_in_the_trainers_order_whatever_the_log_order()
    {
        var lines = new[] { Line(1, 0.1, 0.2, 0.3, publish: 0.4) };
        var times = IterationTimes.Of(lines);
        Assert.Equal(["data", "mining", "publish", "probe"], times.Stages.Select(s => s.Stage));
        Assert.Equal(1, times.FirstStep);
    }

    [Fact]
    public void A_short_run_is_averaged_over_all_its_steps()
    {
        Properties.Check(Prop.ForAll(
            Gen.Choose(1, 30).ToArbitrary(), Gen.ArrayOf(Gen.Choose(0, 1000), 30).ToArbitrary(),
            (count, millis) =>
            {
                var lines = Enumerable.Range(1, count).Select(s => Line(s, 0, millis[s - 1] / 1000.0)).ToList();
                var timed = count > 10 ? millis[10..count] : millis[..count];
                var times = IterationTimes.Of(lines);
                return Math.Abs(times.Iteration - timed.Average() / 1000.0) < 1e-12
                    && times.Steps == timed.Length
                    && Math.Abs(times.Stage("mining")!.Value - times.Iteration) < 1e-12;
            }));
    }

    [Fact]
    public void No_lines_is_rejected()
    {
        Assert.Equal("lines", Assert.Throws<ArgumentException>(() => IterationTimes.Of([])).ParamName);
    }
}
