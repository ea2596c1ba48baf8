using ScottPlot;

namespace Ohem.Trainer.Reporting;

/// <summary>One series of a grouped bar chart: a legend name, a colour (#rrggbb), one value per category.</summary>
public sealed record BarSeries(string Name, string Color, IReadOnlyList<double> Values);

/// <summary>Grouped bars (one group per category, one bar per series in it) as a ScottPlot chart, from 0 up.</summary>
public static class GroupedBarChart
{
    /// <exception cref="ArgumentException">No category, no series, a series of the wrong length or a non-finite value.</exception>
    public static Plot Build(string title, string yLabel, IReadOnlyList<string> categories, IReadOnlyList<BarSeries> series)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(series);
        if (categories.Count == 0 || series.Count == 0)
        {
            throw new ArgumentException($"{categories.Count} categories and {series.Count} series; expected at least one of each.", nameof(series));
        }

        for (var s = 0; s < series.Count; s++)
        {
            if (series[s].Values.Count != categories.Count || series[s].Values.Any(v => !double.IsFinite(v)))
            {
                throw new ArgumentException($"series[{s}] (\"{series[s].Name}\") has {series[s].Values.Count} values; expected {categories.Count} finite ones, one per category.", nameof(series));
            }
        }

        var plot = new Plot();
        var group = series.Count + 1; // a bar's width of space between groups
        var bars = new List<Bar>();
        for (var c = 0; c < categories.Count; c++)
        {
            for (var s = 0; s < series.Count; s++)
            {
                bars.Add(new Bar { Position = (c * group) + s, Value = series[s].Values[c], FillColor = Color.FromHex(series[s].Color) });
            }
        }

        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks([.. categories.Select((_, c) => (c * group) + ((series.Count - 1) / 2.0))], [.. categories]);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.HideGrid();
        plot.Legend.ManualItems.AddRange(series.Select(s => new LegendItem { LabelText = s.Name, FillColor = Color.FromHex(s.Color) }));
        plot.ShowLegend(Edge.Right); // beside the bars: inside, it covered the first group's
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.Axes.Margins(bottom: 0);
        return plot;
    }
}
