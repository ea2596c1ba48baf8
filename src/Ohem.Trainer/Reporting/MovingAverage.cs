namespace Ohem.Trainer.Reporting;

/// <summary>Trailing moving averages for training curves (noisy per-step values read better smoothed).</summary>
public static class MovingAverage
{
    /// <summary>The window the report uses for <paramref name="count"/> logged points: about 20, fewer for short logs so they keep their shape.</summary>
    public static int WindowFor(int count) => Math.Clamp(count / 5, 1, 20);

    /// <summary>
    /// Each point's y replaced by the mean of the last <paramref name="window"/> points' y (itself
    /// included; fewer at the start), x unchanged. Non-finite points are dropped first.
    /// </summary>
    public static IReadOnlyList<(double X, double Y)> Trailing(IEnumerable<(double X, double Y)> points, int window)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var finite = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var result = new List<(double X, double Y)>(finite.Count);
        double sum = 0;
        for (var i = 0; i < finite.Count; i++)
        {
            sum += finite[i].Y;
            if (i >= window)
            {
                sum -= finite[i - window].Y;
            }

            result.Add((finite[i].X, sum / Math.Min(i + 1, window)));
        }

        return result;
    }
}
