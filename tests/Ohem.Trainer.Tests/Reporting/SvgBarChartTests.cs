using System.Globalization;
using System.Xml.Linq;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class SvgBarChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static double A(XElement e, string name) => double.Parse(e.Attribute(name)!.Value, CultureInfo.InvariantCulture);

    [Fact]
    public void One_bar_per_series_and_category_with_heights_proportional_to_values()
    {
        var series = new[]
        {
            new BarSeries("ohem <a&b>", "#c00", [10, 40, 0]),
            new BarSeries("fgbg", "#06c", [20, 5, 30]),
        };
        var doc = XDocument.Parse(SvgBarChart.Render("time & stage", "ms", ["data", "mining", "iteration"], series));
        var bars = doc.Descendants(Svg + "rect").Where(r => r.Attribute("class")?.Value == "bar").ToList();
        Assert.Equal(6, bars.Count);
        Assert.Equal(2, bars.Select(b => b.Attribute("fill")!.Value).Distinct().Count());

        // Bars in category order, series side by side; height / value is one scale for all.
        var values = new double[] { 10, 20, 40, 5, 0, 30 };
        var scale = A(bars[2], "height") / 40;
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(values[i] * scale, A(bars[i], "height"), 0.15);
            Assert.Equal(A(bars[0], "y") + A(bars[0], "height"), A(bars[i], "y") + A(bars[i], "height"), 0.15); // one baseline
        }

        Assert.All(bars.Zip(bars.Skip(1)), p => Assert.True(A(p.First, "x") < A(p.Second, "x")));
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value == "ohem <a&b>");
        Assert.Contains(doc.Descendants(Svg + "title"), t => t.Value == "fgbg, mining: 5");
    }

    [Fact]
    public void Bad_input_is_rejected_by_name()
    {
        Assert.Equal("series", Assert.Throws<ArgumentException>(() => SvgBarChart.Render("t", "y", ["a"], [new BarSeries("s", "k", [1, 2])])).ParamName);
        Assert.Equal("series", Assert.Throws<ArgumentException>(() => SvgBarChart.Render("t", "y", ["a"], [new BarSeries("s", "k", [-1])])).ParamName);
        Assert.Equal("series", Assert.Throws<ArgumentException>(() => SvgBarChart.Render("t", "y", ["a"], [new BarSeries("s", "k", [double.NaN])])).ParamName);
        Assert.Equal("categories", Assert.Throws<ArgumentException>(() => SvgBarChart.Render("t", "y", [], [new BarSeries("s", "k", [])])).ParamName);
    }

    [Fact]
    public void All_zero_values_still_draw_a_chart()
    {
        var doc = XDocument.Parse(SvgBarChart.Render("t", "y", ["a", "b"], [new BarSeries("s", "k", [0, 0])]));
        Assert.All(doc.Descendants(Svg + "rect").Where(r => r.Attribute("class")?.Value == "bar"), b => Assert.Equal(0, A(b, "height"), 6));
    }
}
