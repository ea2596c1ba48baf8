using System.Xml.Linq;
using Ohem.Trainer.Reporting;
using ScottPlot.Plottables;
using SkiaSharp;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class ChartTests
{
    [Fact]
    public void A_line_chart_has_one_legended_line_per_series_with_its_finite_points()
    {
        var plot = LineChart.Build("loss", "step", "loss",
        [
            new ChartSeries("ohem <hard>", "#c00000", [(0, 1), (10, double.NaN), (20, 0.25)]),
            new ChartSeries("fgbg", "#0066cc", [(0, 1.2), (10, 0.9), (20, 0.7)]) { Markers = true },
        ]);
        var lines = plot.GetPlottables().OfType<Scatter>().ToList();
        Assert.Equal(["ohem <hard>", "fgbg"], lines.Select(l => l.LegendText));
        Assert.Equal([(0.0, 1.0), (20.0, 0.25)], lines[0].Data.GetScatterPoints().Select(p => (p.X, p.Y)));
        Assert.Equal(3, lines[1].Data.GetScatterPoints().Count);
        Assert.Equal(ScottPlot.Color.FromHex("#0066cc"), lines[1].Color);
        Assert.True(lines[1].MarkerSize > lines[0].MarkerSize); // sparse series get larger markers
        Assert.True(plot.Legend.IsVisible);
    }

    [Fact]
    public void The_legend_sits_away_from_where_the_lines_end()
    {
        var rising = new ChartSeries("mAP", "#d62728", [(1, 0.1), (2, 0.5), (3, 0.7)]);
        var falling = new ChartSeries("loss", "#1f77b4", [(1, 2.0), (2, 0.5), (3, double.NaN), (4, 0.2)]);
        Assert.Equal(ScottPlot.Alignment.LowerRight, LineChart.LegendCorner([rising]));
        Assert.Equal(ScottPlot.Alignment.UpperRight, LineChart.LegendCorner([falling]));
        Assert.Equal(ScottPlot.Alignment.LowerRight, LineChart.Build("mAP", "step", "mAP", [rising]).Legend.Alignment);
    }

    [Fact]
    public void Axis_bounds_given_are_kept_and_a_chart_without_points_is_rejected()
    {
        var plot = LineChart.Build("fg", "step", "fraction", [new ChartSeries("a", "#000000", [(1, 0.3), (2, 0.4)])], yMin: 0, yMax: 1);
        var limits = plot.Axes.GetLimits();
        Assert.Equal((0.0, 1.0), (limits.Bottom, limits.Top));
        var e = Assert.Throws<ArgumentException>(() => LineChart.Build("t", "x", "y", [new ChartSeries("a", "#000000", [(1, double.NaN)])]));
        Assert.Equal("series", e.ParamName);
    }

    [Fact]
    public void A_bar_chart_has_a_bar_per_series_and_category_with_its_value_and_colour()
    {
        var plot = GroupedBarChart.Build("times", "ms", ["backbone", "head"], [new BarSeries("ohem", "#d62728", [10, 20]), new BarSeries("fgbg", "#1f77b4", [5, 0])]);
        var bars = plot.GetPlottables().OfType<BarPlot>().Single().Bars;
        Assert.Equal([10.0, 5, 20, 0], bars.Select(b => b.Value));
        Assert.Equal([0.0, 1, 3, 4], bars.Select(b => b.Position)); // a bar's width between groups
        Assert.Equal(ScottPlot.Color.FromHex("#1f77b4"), bars[1].FillColor);
        Assert.Equal(["ohem", "fgbg"], plot.Legend.ManualItems.Select(i => i.LabelText));

        Assert.Contains("series[1]", Assert.Throws<ArgumentException>(() =>
            GroupedBarChart.Build("t", "y", ["a", "b"], [new BarSeries("x", "#000000", [1, 2]), new BarSeries("y", "#000000", [1])])).Message);
        Assert.Contains("series[0]", Assert.Throws<ArgumentException>(() =>
            GroupedBarChart.Build("t", "y", ["a"], [new BarSeries("x", "#000000", [double.NaN])])).Message);
    }

    [Fact]
    public void Saving_writes_well_formed_svg_with_the_legend_and_a_png_beside_it()
    {
        var folder = Directory.CreateTempSubdirectory("ohem-chart-");
        try
        {
            var svg = Path.Combine(folder.FullName, "map.svg");
            var png = ChartFiles.Save(LineChart.Build("mAP", "step", "mAP", [new ChartSeries("ohem", "#d62728", [(0, 0.1), (250, 0.3)])]), svg);
            Assert.Equal(Path.Combine(folder.FullName, "map.png"), png);
            var texts = XDocument.Load(svg).Descendants(XName.Get("text", "http://www.w3.org/2000/svg")).Select(t => t.Value.Trim()).ToList();
            Assert.Contains("ohem", texts);
            Assert.Contains("mAP", texts);
            using var decoded = SKBitmap.Decode(png);
            Assert.Equal((ChartFiles.Width, ChartFiles.Height), (decoded.Width, decoded.Height));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
