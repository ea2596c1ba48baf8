using System.Globalization;
using System.Text;

namespace Ohem.Trainer.Reporting;

/// <summary>One group member of a bar chart: a name for the legend, a colour, and one value per category.</summary>
public sealed record BarSeries(string Name, string Color, IReadOnlyList<double> Values);

/// <summary>
/// A dependency-free SVG bar chart: categories along x, one bar per series side by side in each
/// category, a y axis from 0 with round ticks, a legend. Every bar is a rect of class "bar" with a
/// title giving its series, category and value.
/// </summary>
public static class SvgBarChart
{
    private const int Height = 380, Left = 64, Right = 16, Top = 56, Bottom = 56, MinGroupWidth = 100;

    /// <summary>The chart as an SVG document; values must be finite and at least 0.</summary>
    public static string Render(string title, string yLabel, IReadOnlyList<string> categories, IReadOnlyList<BarSeries> series)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(series);
        if (categories.Count == 0 || series.Count == 0)
        {
            throw new ArgumentException("categories and series must not be empty; expected at least one bar.", categories.Count == 0 ? nameof(categories) : nameof(series));
        }

        for (var s = 0; s < series.Count; s++)
        {
            if (series[s].Values.Count != categories.Count)
            {
                throw new ArgumentException($"series[{s}] has {series[s].Values.Count} values; expected one per category ({categories.Count}).", nameof(series));
            }

            for (var i = 0; i < categories.Count; i++)
            {
                var v = series[s].Values[i];
                if (!(double.IsFinite(v) && v >= 0))
                {
                    throw new ArgumentException($"series[{s}].Values[{i}] is {v}; expected a finite value >= 0.", nameof(series));
                }
            }
        }

        var width = Math.Max(640, Left + Right + (categories.Count * MinGroupWidth));
        var plotW = width - Left - Right;
        var plotH = Height - Top - Bottom;
        var (_, y1) = SvgLineChart.Range(0, series.SelectMany(s => s.Values).Max());
        var ticks = SvgLineChart.Ticks(0, y1);
        y1 = Math.Max(y1, ticks[^1]);
        double Sy(double y) => Top + plotH - (y / y1 * plotH);
        var group = (double)plotW / categories.Count;
        var bar = group * 0.8 / series.Count;

        var svg = new StringBuilder();
        Append(svg, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{Height}\" viewBox=\"0 0 {width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        Append(svg, $"<rect width=\"{width}\" height=\"{Height}\" fill=\"white\"/>");
        Append(svg, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{SvgLineChart.Escape(title)}</text>");
        foreach (var t in ticks)
        {
            Append(svg, $"<line x1=\"{Left}\" y1=\"{Sy(t):F1}\" x2=\"{Left + plotW}\" y2=\"{Sy(t):F1}\" stroke=\"#eee\"/>");
            Append(svg, $"<text x=\"{Left - 6}\" y=\"{Sy(t) + 4:F1}\" text-anchor=\"end\">{SvgLineChart.Format(t)}</text>");
        }

        for (var c = 0; c < categories.Count; c++)
        {
            var x0 = Left + (c * group) + (group * 0.1);
            for (var s = 0; s < series.Count; s++)
            {
                var v = series[s].Values[c];
                var top = Sy(v);
                Append(svg, $"<rect class=\"bar\" x=\"{x0 + (s * bar):F1}\" y=\"{top:F1}\" width=\"{bar:F1}\" height=\"{Top + plotH - top:F1}\" fill=\"{SvgLineChart.Escape(series[s].Color)}\"><title>{SvgLineChart.Escape($"{series[s].Name}, {categories[c]}: {SvgLineChart.Format(v)}")}</title></rect>");
            }

            Append(svg, $"<text x=\"{Left + (c * group) + (group / 2):F1}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{SvgLineChart.Escape(categories[c])}</text>");
        }

        Append(svg, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#444\"/>");
        Append(svg, $"<text x=\"16\" y=\"{Top + (plotH / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {Top + (plotH / 2)})\">{SvgLineChart.Escape(yLabel)}</text>");
        // The legend is a row under the title, so it never hides a bar.
        var lx = (double)Left;
        for (var s = 0; s < series.Count; s++)
        {
            Append(svg, $"<rect x=\"{lx:F1}\" y=\"35\" width=\"14\" height=\"10\" fill=\"{SvgLineChart.Escape(series[s].Color)}\"/>");
            Append(svg, $"<text x=\"{lx + 20:F1}\" y=\"44\">{SvgLineChart.Escape(series[s].Name)}</text>");
            lx += 40 + (7 * series[s].Name.Length);
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Append(StringBuilder svg, FormattableString line) =>
        svg.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
