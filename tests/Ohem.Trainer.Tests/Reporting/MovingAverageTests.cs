using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class MovingAverageTests
{
    [Fact]
    public void Trailing_mean_of_a_known_series()
    {
        var points = new (double, double)[] { (1, 2), (2, 4), (3, double.NaN), (4, 6), (5, 8) };
        var smoothed = MovingAverage.Trailing(points, 2);
        Assert.Equal(new (double X, double Y)[] { (1, 2), (2, 3), (4, 5), (5, 7) }, smoothed);
    }

    [Fact]
    public void Each_smoothed_value_lies_between_the_extremes_of_its_window_and_window_one_changes_nothing()
    {
        Properties.Check(Prop.ForAll(
            Gen.ListOf(Gen.Choose(-1000, 1000)).ToArbitrary(), Gen.Choose(1, 25).ToArbitrary(),
            (values, window) =>
            {
                var points = values.Select((v, i) => ((double)i, (double)v)).ToList();
                var smoothed = MovingAverage.Trailing(points, window);
                var identity = MovingAverage.Trailing(points, 1);
                return smoothed.Count == points.Count
                    && identity.SequenceEqual(points)
                    && smoothed.Select((p, i) =>
                    {
                        var span = values.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(i + 1, window)).ToList();
                        return p.X == i && p.Y >= span.Min() - 1e-9 && p.Y <= span.Max() + 1e-9;
                    }).All(ok => ok);
            }));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(6, 1)]
    [InlineData(50, 10)]
    [InlineData(1200, 20)]
    public void The_window_is_about_twenty_points_and_smaller_for_short_logs(int count, int window)
    {
        Assert.Equal(window, MovingAverage.WindowFor(count));
    }
}
