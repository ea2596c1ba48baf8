using ScottPlot;

namespace Ohem.Trainer.Reporting;

/// <summary>Writes a chart as SVG (for the report) with a PNG of the same name beside it.</summary>
public static class ChartFiles
{
    public const int Width = 800, Height = 450;

    /// <summary>Writes <paramref name="svgPath"/> and the .png beside it; returns the PNG's path.</summary>
    public static string Save(Plot plot, string svgPath)
    {
        ArgumentNullException.ThrowIfNull(plot);
        File.WriteAllText(svgPath, plot.GetSvgXml(Width, Height));
        var png = Path.ChangeExtension(svgPath, ".png");
        plot.SavePng(png, Width, Height);
        return png;
    }
}
