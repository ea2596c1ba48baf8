using System.Globalization;
using System.Xml.Linq;
using Ohem.Trainer.Reporting;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class SvgLineChartMarkerTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void Markers_put_a_dot_on_every_finite_point_of_that_series_only()
    {
        var series = new[]
        {
            new ChartSeries("eval", "#c00", [(100, 0.2), (200, double.NaN), (300, 0.4)]) { Markers = true },
            new ChartSeries("loss", "#06c", [(100, 1.0), (200, 0.5), (300, 0.25)]),
        };
        var doc = XDocument.Parse(SvgLineChart.Render("t", "step", "y", series));
        var dots = doc.Descendants(Svg + "circle").ToList();
        Assert.Equal(2, dots.Count);
        Assert.All(dots, d => Assert.Equal("#c00", d.Attribute("fill")!.Value));

        // Each dot sits on a vertex of the series' lines.
        var vertices = doc.Descendants(Svg + "polyline").Where(l => l.Attribute("stroke")!.Value == "#c00")
            .SelectMany(l => l.Attribute("points")!.Value.Split(' ')).ToHashSet();
        Assert.All(dots, d => Assert.Contains(
            string.Create(CultureInfo.InvariantCulture, $"{d.Attribute("cx")!.Value},{d.Attribute("cy")!.Value}"), vertices));
    }

    [Fact]
    public void A_single_point_series_with_markers_is_still_visible()
    {
        var doc = XDocument.Parse(SvgLineChart.Render("t", "x", "y", [new ChartSeries("one", "k", [(5, 0.5)]) { Markers = true }]));
        Assert.Single(doc.Descendants(Svg + "circle"));
        Assert.Single(doc.Descendants(Svg + "polyline"));
    }
}
