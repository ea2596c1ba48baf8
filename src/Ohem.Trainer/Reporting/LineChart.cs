using ScottPlot;

namespace Ohem.Trainer.Reporting;

/// <summary>One line of a chart: a name for the legend, a colour (#rrggbb), and (x, y) points in x order.</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points)
{
    /// <summary>Large markers on every point (sparse series, such as evaluations); dense series get small ones.</summary>
    public bool Markers { get; init; }
}

/// <summary>
/// Training curves as a ScottPlot line chart: a line with its points marked per series, a legend,
/// axis labels. Non-finite points are left out, so a series with gaps draws its finite points only.
/// </summary>
public static class LineChart
{
    /// <exception cref="ArgumentException">No series has a finite point.</exception>
    public static Plot Build(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, double? yMin = null, double? yMax = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (!series.Any(s => s.Points.Any(p => double.IsFinite(p.X) && double.IsFinite(p.Y))))
        {
            throw new ArgumentException("series has no finite point; expected at least one to draw.", nameof(series));
        }

        var plot = new Plot();
        foreach (var s in series)
        {
            var points = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToArray();
            if (points.Length == 0)
            {
                continue;
            }

            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), Color.FromHex(s.Color));
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = s.Markers ? 7 : 3;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(LegendCorner(series));
        plot.Axes.AutoScale();
        if (yMin is not null || yMax is not null)
        {
            var limits = plot.Axes.GetLimits();
            plot.Axes.SetLimitsY(yMin ?? limits.Bottom, yMax ?? limits.Top);
        }

        return plot;
    }

    /// <summary>
    /// The right-hand corner away from where the lines end: lower right when they end high (mAP
    /// rising), upper right when they end low (a loss falling), so the legend never hides the last points.
    /// </summary>
    public static Alignment LegendCorner(IReadOnlyList<ChartSeries> series)
    {
        var finite = series.Select(s => s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList()).Where(p => p.Count > 0).ToList();
        var all = finite.SelectMany(p => p).Select(p => p.Y).ToList();
        var middle = (all.Min() + all.Max()) / 2;
        return finite.Average(p => p[^1].Y) > middle ? Alignment.LowerRight : Alignment.UpperRight;
    }
}
