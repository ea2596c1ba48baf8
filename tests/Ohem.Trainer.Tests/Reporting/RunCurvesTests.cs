using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class RunCurvesTests
{
    private static MetricsLine Line(int step, double? map = null, double? lossAll = null, double fg = 0.25) =>
        new(step, 0.01, 1, lossAll, fg, 128, new Dictionary<string, double>(), 0.05, map);

    private static List<MetricsLine> Curve(params (int Step, double Map)[] points) => [.. points.Select(p => Line(p.Step, p.Map))];

    [Fact]
    public void Overtake_is_the_first_step_of_the_final_lead()
    {
        var fgbg = Curve((250, 0.2), (500, 0.3), (750, 0.4), (1000, 0.5));
        Assert.Equal(500, RunCurves.OvertakeStep(Curve((250, 0.1), (500, 0.35), (750, 0.41), (1000, 0.6)), fgbg));
        Assert.Equal(750, RunCurves.OvertakeStep(Curve((250, 0.1), (500, 0.25), (750, 0.41), (1000, 0.6)), fgbg));
        Assert.Equal(250, RunCurves.OvertakeStep(Curve((250, 0.3), (500, 0.4), (750, 0.5), (1000, 0.6)), fgbg));
        Assert.Null(RunCurves.OvertakeStep(Curve((250, 0.3), (500, 0.4), (750, 0.5), (1000, 0.5)), fgbg)); // a tie is not a lead
        Assert.Null(RunCurves.OvertakeStep(Curve((300, 0.9)), fgbg)); // no common step
    }

    [Fact]
    public void Overtake_step_holds_the_lead_from_there_on_and_not_just_before()
    {
        var cases = (from n in Gen.Choose(1, 12)
                     from a in Gen.ArrayOf(Gen.Choose(0, 5), n)
                     from b in Gen.ArrayOf(Gen.Choose(0, 5), n)
                     select (a, b)).ToArbitrary();
        Properties.Check(Prop.ForAll(cases, x =>
        {
            var (a, b) = x;
            var run = Curve([.. a.Select((m, i) => (100 * (i + 1), m / 5.0))]);
            var baseline = Curve([.. b.Select((m, i) => (100 * (i + 1), m / 5.0))]);
            var step = RunCurves.OvertakeStep(run, baseline);
            var ahead = a.Zip(b, (p, q) => p > q).ToArray();
            if (step is not { } s)
            {
                Assert.False(ahead[^1]);
                return;
            }

            var k = (s / 100) - 1;
            Assert.All(ahead[k..], Assert.True);
            Assert.True(k == 0 || !ahead[k - 1]);
        }));
    }

    [Fact]
    public void Final_loss_is_the_mean_over_the_last_tenth_of_the_steps_that_logged_it()
    {
        var lines = Enumerable.Range(1, 100).Select(s => Line(s, lossAll: s % 10 == 0 ? s : null)).ToList();
        Assert.Equal(100, RunCurves.FinalLossAll(lines)); // steps 91..100: only 100 logged it
        var every = Enumerable.Range(1, 100).Select(s => Line(s, lossAll: s)).ToList();
        Assert.Equal(95.5, RunCurves.FinalLossAll(every));
        Assert.Null(RunCurves.FinalLossAll([.. Enumerable.Range(1, 20).Select(s => Line(s))]));
        Assert.Null(RunCurves.FinalLossAll([]));
    }

    [Fact]
    public void Final_foreground_share_averages_the_last_tenth_of_the_steps()
    {
        List<MetricsLine> lines = [.. Enumerable.Range(1, 100).Select(step => Line(step, fg: step > 90 ? 0.8 : 0.1))];
        Assert.Equal(0.8, RunCurves.FinalForegroundShare(lines)!.Value, 12);
        Assert.Null(RunCurves.FinalForegroundShare([]));
    }

    [Fact]
    public void Sample_std_divides_by_n_minus_one_and_needs_two_values()
    {
        Assert.Equal(Math.Sqrt(2.5), RunCurves.SampleStd([1, 2, 3, 4, 5]), 12);
        Assert.Equal(0, RunCurves.SampleStd([0.7, 0.7]));
        Assert.True(double.IsNaN(RunCurves.SampleStd([0.7])));
    }
}
