namespace Ohem.Trainer.Reporting;

/// <summary>What the report and the learning benchmarks read off a run's curves, and the spread over runs.</summary>
public static class RunCurves
{
    /// <summary>Share of the last steps the final training loss is averaged over.</summary>
    public const double FinalShare = 0.1;

    /// <summary>(step, val_map) of every step that logged one, in step order.</summary>
    public static IReadOnlyList<(int Step, double Map)> Map(IReadOnlyList<MetricsLine> lines) =>
        [.. lines.Where(l => l.ValidationMap is not null).Select(l => (l.Step, l.ValidationMap!.Value))];

    /// <summary>
    /// The training loss over all RoIs at the end of a run: the mean of loss_all over the lines of
    /// the last <see cref="FinalShare"/> of the steps (for fgbg only probe steps log it); null when
    /// none of them did.
    /// </summary>
    public static double? FinalLossAll(IReadOnlyList<MetricsLine> lines) => FinalMean(lines, l => l.LossAll);

    /// <summary>The mean foreground fraction of the selected RoIs over the same last steps; null for no lines.</summary>
    public static double? FinalForegroundShare(IReadOnlyList<MetricsLine> lines) => FinalMean(lines, l => l.ForegroundFraction);

    /// <summary>Sample standard deviation (n - 1); NaN for fewer than two values.</summary>
    public static double SampleStd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length < 2)
        {
            return double.NaN;
        }

        var mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
    }

    // The mean of a logged value over the lines of the last FinalShare of the steps, skipping
    // lines that did not log it; null when none did.
    private static double? FinalMean(IReadOnlyList<MetricsLine> lines, Func<MetricsLine, double?> value)
    {
        if (lines.Count == 0)
        {
            return null;
        }

        var last = lines[^1].Step;
        var from = last - (int)Math.Ceiling(FinalShare * last);
        var values = lines.Where(l => l.Step > from).Select(value).Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).ToList();
        return values.Count == 0 ? null : values.Average();
    }

    /// <summary>
    /// The first evaluated step from which <paramref name="run"/>'s mAP stays above
    /// <paramref name="baseline"/>'s at every later step both evaluated; null when it is not ahead
    /// at the last such step (or they share none).
    /// </summary>
    public static int? OvertakeStep(IReadOnlyList<MetricsLine> run, IReadOnlyList<MetricsLine> baseline)
    {
        var other = Map(baseline).ToDictionary(p => p.Step, p => p.Map);
        var common = Map(run).Where(p => other.ContainsKey(p.Step)).ToList();
        int? since = null;
        foreach (var (step, map) in common)
        {
            since = map > other[step] ? since ?? step : null;
        }

        return since;
    }
}
