namespace Ohem.Trainer.Reporting;

/// <summary>A chart written into the report folder: its file name and what it shows.</summary>
public sealed record ReportChart(string File, string Title);

/// <summary>The report's charts (SVG, with a PNG beside each): training curves of every run on shared axes, and the time per stage.</summary>
internal static class ReportCharts
{
    private static readonly string[] Palette = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

    /// <summary>The colour of the run at <paramref name="index"/> in every chart.</summary>
    public static string Colour(int index) => Palette[index % Palette.Length];

    /// <summary>Writes the charts that have data; returns them in the order written.</summary>
    public static IReadOnlyList<ReportChart> Write(string folder, IReadOnlyList<ReportedRun> runs)
    {
        var charts = new List<ReportChart>();
        Line(folder, charts, "loss-all.svg", "Loss over all RoIs (moving average)", "loss", runs, l => l.LossAll, smooth: true);
        Line(folder, charts, "loss-selected.svg", "Loss over the selected RoIs (moving average)", "loss", runs, l => l.LossSelected, smooth: true);
        Line(folder, charts, "val-map.svg", "Validation mAP (IoU 0.5)", "mAP", runs, l => l.ValidationMap, smooth: false, yMin: 0);
        Line(folder, charts, "fg-fraction.svg", "Foreground fraction of the selected RoIs (moving average)", "fg fraction", runs, l => l.ForegroundFraction, smooth: true, yMin: 0, yMax: 1);

        var stages = StageColumns(runs).ToList();
        var categories = stages.Select(StageTitle).Append("iteration").ToList();
        var bars = runs.Select((r, i) => new BarSeries(
            r.Label, Colour(i), [.. stages.Select(s => 1000 * (r.Times.Stage(s) ?? 0)), 1000 * r.Times.Iteration])).ToList();
        ChartFiles.Save(GroupedBarChart.Build("Time per iteration by stage (mean after warm-up)", "ms", categories, bars), Path.Combine(folder, "stage-times.svg"));
        charts.Add(new ReportChart("stage-times.svg", "Time per iteration by stage"));
        return charts;
    }

    /// <summary>The stages any run logged, in the trainer's order; the probe only where it took time.</summary>
    public static IEnumerable<string> StageColumns(IReadOnlyList<ReportedRun> runs)
    {
        var names = runs.SelectMany(r => r.Times.Stages.Select(s => s.Stage)).Distinct(StringComparer.Ordinal).ToList();
        var ordered = IterationTimes.StageOrder.Where(names.Contains).Concat(names.Where(n => !IterationTimes.StageOrder.Contains(n)));
        return ordered.Where(s => s != IterationTimes.ProbeStage || runs.Any(r => r.Times.Stage(s) > 0));
    }

    /// <summary>A stage's name for people.</summary>
    public static string StageTitle(string stage) => stage switch
    {
        "head_fwd_bwd" => "head fwd/bwd",
        "sgd_step" => "sgd step",
        IterationTimes.ProbeStage => "probe (log only)",
        _ => stage.Replace('_', ' '),
    };

    private static void Line(
        string folder, List<ReportChart> charts, string file, string title, string yLabel, IReadOnlyList<ReportedRun> runs,
        Func<MetricsLine, double?> value, bool smooth, double? yMin = null, double? yMax = null)
    {
        var series = new List<ChartSeries>();
        for (var i = 0; i < runs.Count; i++)
        {
            var points = runs[i].Lines.Where(l => value(l) is { } v && double.IsFinite(v)).Select(l => ((double)l.Step, value(l)!.Value)).ToList();
            var drawn = smooth ? MovingAverage.Trailing(points, MovingAverage.WindowFor(points.Count)) : points;
            series.Add(new ChartSeries(runs[i].Label, Colour(i), drawn) { Markers = !smooth });
        }

        if (series.All(s => s.Points.Count == 0))
        {
            return; // nothing logged (e.g. runs without evaluations): no chart rather than an empty one
        }

        ChartFiles.Save(LineChart.Build(title, "step", yLabel, series, yMin, yMax), Path.Combine(folder, file));
        charts.Add(new ReportChart(file, title));
    }
}
