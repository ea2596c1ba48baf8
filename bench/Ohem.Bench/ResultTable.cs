using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>A benchmark's table, printed to the console and returned as Markdown (title in bold, first column left-aligned).</summary>
internal static class ResultTable
{
    public static StringBuilder Write(string title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var console = new Table().Title(Markup.Escape(title));
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"**{title}**").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", headers)} |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", headers.Count - 1)));
        foreach (var h in headers)
        {
            console.AddColumn(new TableColumn(Markup.Escape(h)).RightAligned());
        }

        foreach (var row in rows)
        {
            console.AddRow([.. row.Select(Markup.Escape)]);
            md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row)} |");
        }

        AnsiConsole.Write(console);
        return md;
    }

    /// <summary>A number for a cell, invariant culture; "-" when not finite (a spread of one value).</summary>
    public static string Number(double value, string format) =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";
}
