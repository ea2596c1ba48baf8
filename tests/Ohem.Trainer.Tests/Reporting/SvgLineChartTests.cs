using System.Globalization;
using System.Xml.Linq;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class SvgLineChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void Chart_is_well_formed_svg_with_a_polyline_and_legend_per_series()
    {
        var series = new[]
        {
            new ChartSeries("ohem <hard>", "#c00", [(0, 1), (10, 0.5), (20, 0.25)]),
            new ChartSeries("fgbg", "#06c", [(0, 1.2), (10, 0.9), (20, 0.7)]),
        };
        var doc = XDocument.Parse(SvgLineChart.Render("loss & steps", "step", "loss", series));
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        Assert.Equal(2, doc.Descendants(Svg + "polyline").Count());
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value == "ohem <hard>");
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value == "loss & steps");
    }

    [Fact]
    public void Points_land_inside_the_plot_and_keep_their_order()
    {
        var series = new[] { new ChartSeries("a", "black", [(1, 5), (2, -3), (3, 8), (4, 8)]) };
        var doc = XDocument.Parse(SvgLineChart.Render("t", "x", "y", series));
        var frame = doc.Descendants(Svg + "rect").Single(r => r.Attribute("fill")?.Value == "none");
        double A(XElement e, string n) => double.Parse(e.Attribute(n)!.Value, CultureInfo.InvariantCulture);
        var (fx, fy, fw, fh) = (A(frame, "x"), A(frame, "y"), A(frame, "width"), A(frame, "height"));
        var points = doc.Descendants(Svg + "polyline").Single().Attribute("points")!.Value.Split(' ')
            .Select(p => p.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        Assert.Equal(4, points.Length);
        Assert.All(points, p => Assert.InRange(p[0], fx, fx + fw));
        Assert.All(points, p => Assert.InRange(p[1], fy, fy + fh));
        Assert.True(points[0][0] < points[1][0] && points[1][0] < points[2][0]);
        Assert.True(points[1][1] > points[0][1]); // lower y value is drawn lower (larger SVG y)
        Assert.Equal(points[2][1], points[3][1]);
    }

    [Fact]
    public void Non_finite_points_split_the_line()
    {
        var series = new[] { new ChartSeries("a", "black", [(1, 1), (2, double.NaN), (3, 2), (4, 3)]) };
        var doc = XDocument.Parse(SvgLineChart.Render("t", "x", "y", series));
        Assert.Equal(2, doc.Descendants(Svg + "polyline").Count());
    }

    [Fact]
    public void A_chart_without_points_is_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => SvgLineChart.Render("t", "x", "y", [new ChartSeries("a", "k", [(1, double.NaN)])]));
        Assert.Equal("series", e.ParamName);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 1234)]
    [InlineData(-3.5, 0.02)]
    [InlineData(0.31, 0.3125)]
    public void Ticks_are_round_and_inside_the_range(double lo, double hi)
    {
        var ticks = SvgLineChart.Ticks(lo, hi);
        Assert.InRange(ticks.Count, 2, 12);
        Assert.All(ticks, t => Assert.InRange(t, lo - 1e-9, hi + 1e-9));
        var step = ticks[1] - ticks[0];
        var mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step)));
        Assert.Contains(Math.Round(mantissa, 6), new[] { 1.0, 2.0, 5.0 });
    }
}
