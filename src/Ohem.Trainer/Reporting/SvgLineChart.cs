using System.Globalization;
using System.Security;
using System.Text;

namespace Ohem.Trainer.Reporting;

/// <summary>One line of a chart: a name for the legend, a colour, and (x, y) points in x order.</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points)
{
    /// <summary>Also mark every point with a dot (for sparse series, such as one evaluation per run).</summary>
    public bool Markers { get; init; }
}

/// <summary>
/// A dependency-free SVG line chart (title, axes with round ticks, a legend), enough for training
/// curves in a report. Non-finite points are skipped, so a series with gaps draws as separate runs.
/// </summary>
public static class SvgLineChart
{
    private static readonly double[] NiceSteps = [1.0, 2.0, 5.0, 10.0];
    private const int Width = 640, Height = 360, Left = 64, Right = 16, Top = 36, Bottom = 48;

    /// <summary>The chart as an SVG document.</summary>
    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, double? yMin = null, double? yMax = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        if (points.Count == 0)
        {
            throw new ArgumentException("series has no finite point; expected at least one to draw.", nameof(series));
        }

        var (x0, x1) = Range(points.Min(p => p.X), points.Max(p => p.X));
        var (y0, y1) = Range(yMin ?? points.Min(p => p.Y), yMax ?? points.Max(p => p.Y));
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        double Sx(double x) => Left + ((x - x0) / (x1 - x0) * plotW);
        double Sy(double y) => Top + plotH - ((Math.Clamp(y, y0, y1) - y0) / (y1 - y0) * plotH);

        var svg = new StringBuilder();
        Append(svg, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        Append(svg, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        Append(svg, $"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>");
        foreach (var t in Ticks(x0, x1))
        {
            Append(svg, $"<line x1=\"{Sx(t):F1}\" y1=\"{Top}\" x2=\"{Sx(t):F1}\" y2=\"{Top + plotH}\" stroke=\"#eee\"/>");
            Append(svg, $"<text x=\"{Sx(t):F1}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{Format(t)}</text>");
        }

        foreach (var t in Ticks(y0, y1))
        {
            Append(svg, $"<line x1=\"{Left}\" y1=\"{Sy(t):F1}\" x2=\"{Left + plotW}\" y2=\"{Sy(t):F1}\" stroke=\"#eee\"/>");
            Append(svg, $"<text x=\"{Left - 6}\" y=\"{Sy(t) + 4:F1}\" text-anchor=\"end\">{Format(t)}</text>");
        }

        Append(svg, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#444\"/>");
        Append(svg, $"<text x=\"{Left + (plotW / 2)}\" y=\"{Height - 10}\" text-anchor=\"middle\">{Escape(xLabel)}</text>");
        Append(svg, $"<text x=\"16\" y=\"{Top + (plotH / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {Top + (plotH / 2)})\">{Escape(yLabel)}</text>");

        for (var s = 0; s < series.Count; s++)
        {
            var line = series[s];
            foreach (var run in Runs(line.Points))
            {
                var path = string.Join(" ", run.Select(p => string.Create(CultureInfo.InvariantCulture, $"{Sx(p.X):F1},{Sy(p.Y):F1}")));
                Append(svg, $"<polyline fill=\"none\" stroke=\"{Escape(line.Color)}\" stroke-width=\"1.6\" points=\"{path}\"/>");
            }

            if (line.Markers)
            {
                foreach (var p in line.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)))
                {
                    Append(svg, $"<circle cx=\"{Sx(p.X):F1}\" cy=\"{Sy(p.Y):F1}\" r=\"3\" fill=\"{Escape(line.Color)}\"/>");
                }
            }

            var ly = Top + 14 + (s * 16);
            Append(svg, $"<line x1=\"{Left + plotW - 150}\" y1=\"{ly - 4}\" x2=\"{Left + plotW - 130}\" y2=\"{ly - 4}\" stroke=\"{Escape(line.Color)}\" stroke-width=\"3\"/>");
            Append(svg, $"<text x=\"{Left + plotW - 124}\" y=\"{ly}\">{Escape(line.Name)}</text>");
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart).</summary>
    internal static IReadOnlyList<double> Ticks(double lo, double hi)
    {
        var raw = (hi - lo) / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = NiceSteps.Select(m => m * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (var t = Math.Ceiling(lo / step) * step; t <= hi + (step * 1e-9); t += step)
        {
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        }

        return ticks;
    }

    internal static (double Lo, double Hi) Range(double lo, double hi) =>
        hi > lo ? (lo, hi) : (lo - 0.5 - Math.Abs(lo * 0.05), hi + 0.5 + Math.Abs(hi * 0.05));

    private static IEnumerable<List<(double X, double Y)>> Runs(IReadOnlyList<(double X, double Y)> points)
    {
        var run = new List<(double X, double Y)>();
        foreach (var p in points)
        {
            if (double.IsFinite(p.X) && double.IsFinite(p.Y))
            {
                run.Add(p);
            }
            else if (run.Count > 0)
            {
                yield return run;
                run = [];
            }
        }

        if (run.Count > 0)
        {
            yield return run;
        }
    }

    internal static string Format(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    internal static string Escape(string text) => SecurityElement.Escape(text);

    private static void Append(StringBuilder svg, FormattableString line) =>
        svg.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
