using System.Globalization;
using System.Text;
using System.Text.Json;
using Ohem.Core.Selection;
using Ohem.Trainer.Data;

namespace Ohem.Trainer.Reporting;

/// <summary>report.md: every table side by side per run, images by relative links.</summary>
internal static class ReportMarkdown
{
    public static string Render(ReportResult report, ReportExtras extras)
    {
        var md = new StringBuilder();
        var outcomes = report.Runs;
        Line(md, $"# {extras.Title}");
        Line(md);
        var times = outcomes[0].Run.Times;
        Line(md, $"{outcomes.Count} run{(outcomes.Count == 1 ? "" : "s")}: {string.Join(", ", outcomes.Select(o => Code(o.Run.Label)))}. "
            + "Validation AP is re-evaluated from each run's checkpoint.pt; times are means over the logged steps after the first "
            + $"{IterationTimes.WarmupSteps} (warm-up), or over all steps for runs that short.");
        Line(md);

        Headline(md, report);
        Settings(md, outcomes);
        Accuracy(md, outcomes);
        Times(md, report);
        Staleness(md, outcomes);
        MinerSide(md, outcomes);
        Charts(md, report);
        Gallery(md, report, extras);
        foreach (var section in extras.Sections)
        {
            Line(md, $"## {section.Heading}");
            Line(md);
            Line(md, section.Markdown.TrimEnd());
            Line(md);
        }

        return md.ToString();
    }

    private static void Headline(StringBuilder md, ReportResult report)
    {
        Line(md, "## Headline");
        Line(md);
        if (report.Baseline is { } baseline)
        {
            foreach (var o in report.Runs.Where(o => o != baseline))
            {
                Line(md, $"- {PolicyTitle(o.Run.Sampler)} iteration time / fgbg iteration time: **{F2(report.IterationRatio(o)!.Value)}** "
                    + $"({Code(o.Run.Label)} {Ms(o.Run.Times.Iteration)} ms vs {Code(baseline.Run.Label)} {Ms(baseline.Run.Times.Iteration)} ms per iteration)");
            }
        }
        else
        {
            Line(md, "- No fgbg run among these: no iteration-time ratio.");
        }

        Line(md, $"- Validation mAP: {string.Join(", ", report.Runs.Select(o => $"{Code(o.Run.Label)} {F3(o.Validation.MeanAp)}"))}");
        if (report.Baseline is { } fgbg)
        {
            foreach (var o in report.Runs.Where(o => o != fgbg))
            {
                var overtakes = RunCurves.OvertakeStep(o.Run.Lines, fgbg.Run.Lines);
                var curve = RunCurves.Map(o.Run.Lines).Count > 1
                    ? overtakes is { } step ? $"; ahead of fgbg at every evaluation from step {I(step)} on" : "; not ahead of fgbg at the last evaluation"
                    : "";
                Line(md, $"- {Code(o.Run.Label)} - {Code(fgbg.Run.Label)}: **{Signed(o.Validation.MeanAp - fgbg.Validation.MeanAp)}** mAP{curve}");
            }
        }

        // Runs that differ only in their seed: the mAP with its spread over the seeds.
        foreach (var group in report.Runs.GroupBy(o => SeedlessKey(o.Run)).Where(g => g.Select(o => o.Run.Options.Seed).Distinct().Count() > 1))
        {
            var maps = group.Select(o => (double)o.Validation.MeanAp).ToArray();
            var mean = maps.Average();
            var std = RunCurves.SampleStd(maps);
            Line(md, $"- {PolicyTitle(group.First().Run.Sampler)} over {I(maps.Length)} seeds ({string.Join(", ", group.Select(o => Code(o.Run.Label)))}): "
                + $"mAP **{F3(mean)} ± {F3(std)}** (mean ± sample std)");
        }

        var losses = report.Runs.Select(o => (o, Loss: RunCurves.FinalLossAll(o.Run.Lines))).Where(x => x.Loss is not null).ToList();
        if (losses.Count > 0)
        {
            Line(md, Invariant($"- Training loss over all RoIs, mean over the last {100 * RunCurves.FinalShare:G2}% of the steps: ")
                + string.Join(", ", losses.Select(x => $"{Code(x.o.Run.Label)} {F3(x.Loss!.Value)}")));
        }

        Line(md);
    }

    /// <summary>What makes two runs the same experiment but for the seed.</summary>
    private static string SeedlessKey(ReportedRun run) => System.Text.Json.JsonSerializer.Serialize(run.Options with
    {
        Seed = 0,
        Output = "",
        JobId = null,
        Miners = run.Options.Miners.Count == 0 ? [] : ["remote"],
        Detector = run.Options.Detector with { Seed = 0 },
    });

    private static void Settings(StringBuilder md, IReadOnlyList<ReportedOutcome> outcomes)
    {
        Line(md, "## Settings");
        Line(md);
        Header(md, "setting", outcomes, "---|");
        Row(md, "folder", outcomes, o => Code(o.Run.Folder));
        Row(md, "sampler", outcomes, o => o.Run.Options.Sampler);
        Row(md, "sampler options", outcomes, o => o.Run.Options.SamplerOptions.Count == 0
            ? "defaults"
            : string.Join(", ", o.Run.Options.SamplerOptions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
        Row(md, "steps", outcomes, o => I(o.Run.Options.Steps));
        Row(md, "N images per batch", outcomes, o => I(o.Run.Options.ImagesPerBatch));
        Row(md, "B RoIs per batch", outcomes, o => $"{I(o.Run.Options.RoisPerBatch)} ({I(o.Run.Options.RoisPerBatch / o.Run.Options.ImagesPerBatch)} per image)");
        Row(md, "learning rate", outcomes, o => Invariant(
            $"{o.Run.Options.LearningRate:G4}, warm-up {o.Run.Options.WarmupSteps} steps, x0.1 after {100 * o.Run.Options.DecayAt:G3}% of the steps"));
        Row(md, "detector", outcomes, o =>
        {
            var d = o.Run.Options.Detector;
            return Invariant($"backbone [{string.Join(", ", d.BackboneChannels)}], stride {d.Stride}, RoI pool {d.PooledSize}x{d.PooledSize}, hidden [{string.Join(", ", d.HiddenSizes)}]");
        });
        Row(md, "proposals", outcomes, o =>
        {
            var p = o.Run.Options.Proposals;
            return Invariant($"{p.Count} per canvas, {100 * p.ObjectFraction:G3}% around objects, {100 * p.DistractorFraction:G3}% around hard negatives, fg IoU >= {p.FgThreshold:G3}");
        });
        Row(md, "backbone start", outcomes, o => o.Run.Options.BackboneWeights is { } w ? $"pretrained ({Code(w)})" : "from scratch");
        Row(md, "train / validation canvases", outcomes, o => $"{I(o.Run.Options.TrainImages)} / {I(o.Run.Options.ValidationImages)}");
        Row(md, "seed", outcomes, o => I(o.Run.Options.Seed));
        Row(md, "threads", outcomes, o => I(o.Run.Options.Threads));
        Row(md, "steps logged", outcomes, o => I(o.Run.Lines.Count));

        // Settings of the miner service, for the runs that used one (never the token).
        static bool Remote(ReportedOutcome o) => Setting(o, "Miners") is { ValueKind: JsonValueKind.Array } m && m.GetArrayLength() > 0;
        if (outcomes.Any(Remote))
        {
            Row(md, "miners", outcomes, o => Remote(o)
                ? string.Join(", ", Setting(o, "Miners")!.Value.EnumerateArray().Select(e => Code(e.ToString())))
                : "in process");
            foreach (var (key, title) in new[] { ("MaxStaleness", "max staleness"), ("PublishEvery", "publish every (steps)"), ("JobId", "job"), ("Rank", "rank") })
            {
                if (outcomes.Any(o => Remote(o) && Setting(o, key) is { ValueKind: not JsonValueKind.Null }))
                {
                    Row(md, title, outcomes, o => Remote(o) && Setting(o, key) is { ValueKind: not JsonValueKind.Null } v ? v.ToString() : "–");
                }
            }
        }

        Line(md);
    }

    private static void Accuracy(StringBuilder md, IReadOnlyList<ReportedOutcome> outcomes)
    {
        Line(md, "## Validation AP per class (VOC, IoU 0.5)");
        Line(md);
        Header(md, "class", outcomes, "---:|");
        for (var c = 0; c < FashionMnist.ClassNames.Count; c++)
        {
            var k = c;
            Row(md, FashionMnist.ClassNames[c], outcomes, o => k < o.Validation.ApPerClass.Count ? F3(o.Validation.ApPerClass[k]) : "–");
        }

        Row(md, "**mAP**", outcomes, o => $"**{F3(o.Validation.MeanAp)}**");
        Row(md, "mAP logged at the last step", outcomes, o => o.Run.LoggedFinalMap is { } m ? F3(m) : "–");
        Row(md, "validation canvases", outcomes, o => I(o.ValidationImages));
        Line(md);
        foreach (var o in outcomes)
        {
            if (o.Run.LoggedFinalMap is { } logged && o.ValidationImages == o.Run.Options.ValidationImages && Math.Abs(logged - o.Validation.MeanAp) > 1e-4)
            {
                Line(md, $"Note: {Code(o.Run.Label)}'s checkpoint evaluates to mAP {F3(o.Validation.MeanAp)} but its log's last val_map is {F3(logged)}: "
                    + "the checkpoint may not be the final weights.");
                Line(md);
            }
        }
    }

    private static void Times(StringBuilder md, ReportResult report)
    {
        var outcomes = report.Runs;
        var stages = ReportCharts.StageColumns([.. outcomes.Select(o => o.Run)]).ToList();
        Line(md, "## Time per iteration (ms, mean after warm-up)");
        Line(md);
        var columns = stages.Select(ReportCharts.StageTitle).Append("**iteration**").Append("steps averaged").ToList();
        if (report.Baseline is not null)
        {
            columns.Add("/ fgbg iteration");
        }

        Line(md, $"| run | {string.Join(" | ", columns)} |");
        Line(md, $"|---|{string.Concat(columns.Select(_ => "---:|"))}");
        foreach (var o in outcomes)
        {
            var t = o.Run.Times;
            var cells = stages.Select(s => t.Stage(s) is { } v ? Ms(v) : "–")
                .Append($"**{Ms(t.Iteration)}**")
                .Append(Invariant($"{t.Steps} (from step {t.FirstStep})"))
                .ToList();
            if (report.IterationRatio(o) is { } ratio)
            {
                cells.Add(F2(ratio));
            }

            Line(md, $"| {Code(o.Run.Label)} | {string.Join(" | ", cells)} |");
        }

        Line(md);
        Line(md, "The iteration is every stage but the probe (scoring all RoIs only for the log, on runs whose policy does not need it).");
        Line(md);
    }

    private static void Staleness(StringBuilder md, IReadOnlyList<ReportedOutcome> outcomes)
    {
        if (outcomes.All(o => o.Run.Staleness is null))
        {
            return;
        }

        Line(md, "## Mining staleness (trainer's view)");
        Line(md);
        Line(md, "| run | remote steps | mean staleness | max staleness | rescored steps | fallback steps | last scored version |");
        Line(md, "|---|---:|---:|---:|---:|---:|---:|");
        foreach (var o in outcomes)
        {
            if (o.Run.Staleness is not { } s)
            {
                Line(md, $"| {Code(o.Run.Label)} | in process | – | – | – | – | – |");
                continue;
            }

            var mean = double.IsNaN(s.MeanStaleness) ? "–" : F2(s.MeanStaleness);
            var last = s.LastScoredVersion is { } v ? I(v) : "–";
            Line(md, Invariant($"| {Code(o.Run.Label)} | {s.RemoteSteps} of {s.Steps} | {mean} | {s.MaxStaleness} | {s.RescoredSteps} | {s.FallbackSteps} | {last} |"));
        }

        Line(md);
    }

    private static void MinerSide(StringBuilder md, IReadOnlyList<ReportedOutcome> outcomes)
    {
        var views = outcomes.Where(o => o.Run.Miner is not null).ToList();
        if (views.Count == 0)
        {
            return;
        }

        Line(md, "## Mining staleness (miner's view)");
        Line(md);
        Line(md, $"From the miner's /metrics, scraped into the run folder ({Code(MinerView.FileName)}) when the run ended: how many versions "
            + "behind the newest the miner held each batch was scored with when it was answered (`ohem_scored_versions_behind`), "
            + "and the miner's mean time per batch in each stage (`ohem_stage_seconds`; queued is waiting for a slot or for the weights version).");
        Line(md);
        var stages = views.SelectMany(o => o.Run.Miner!.StageMs.Select(s => s.Stage)).Distinct().ToList();
        Line(md, "| run | job | batches answered | failed | mean versions behind | scored with the newest | worst (bound) | newest version | "
            + string.Join(" | ", stages.Select(s => $"{s} ms")) + " |");
        Line(md, "|---|---|---:|---:|---:|---:|---:|---:|" + string.Concat(stages.Select(_ => "---:|")));
        foreach (var o in views)
        {
            var m = o.Run.Miner!;
            var share = double.IsNaN(m.ShareNewest) ? "–" : (m.ShareNewest * 100).ToString("F1", CultureInfo.InvariantCulture) + " %";
            var worst = m.MaxBehindBound is { } b ? (double.IsPositiveInfinity(b) ? "> 64" : $"≤ {b.ToString(CultureInfo.InvariantCulture)}") : "–";
            var newest = m.NewestVersion is { } v ? I(v) : "–";
            var times = stages.Select(s => m.StageMs.FirstOrDefault(x => x.Stage == s) is { Stage: not null } t ? F2(t.Ms) : "–");
            Line(md, $"| {Code(o.Run.Label)} | {Code(m.Job)} | {I(m.Answered)} | {I(m.Failed)} | {(double.IsNaN(m.MeanBehind) ? "–" : F2(m.MeanBehind))} | {share} | {worst} | {newest} | "
                + string.Join(" | ", times) + " |");
        }

        Line(md);
    }

    private static void Charts(StringBuilder md, ReportResult report)
    {
        Line(md, "## Curves");
        Line(md);
        var windows = report.Runs.Select(o => Invariant(
            $"{Code(o.Run.Label)} {MovingAverage.WindowFor(o.Run.Lines.Count(l => l.LossAll is not null))} (loss over all RoIs) / {MovingAverage.WindowFor(o.Run.Lines.Count)} (others)"));
        Line(md, $"Moving averages are trailing, over logged points: {string.Join("; ", windows)}. Steps where the loss over all RoIs was not computed are skipped.");
        Line(md);
        foreach (var chart in report.Charts)
        {
            Line(md, $"![{chart.Title}]({chart.File})");
            Line(md);
        }
    }

    private static void Gallery(StringBuilder md, ReportResult report, ReportExtras extras)
    {
        if (report.Gallery is null)
        {
            return;
        }

        var outcomes = report.Runs;
        Line(md, "## Selection gallery");
        Line(md);
        Line(md, $"![What each policy selects on validation canvases]({Path.GetFileName(report.Gallery)})");
        Line(md);
        var columns = outcomes.Select((o, i) => Invariant($"{i + 2}. {Code(o.Run.Label)}: the RoIs its {o.Run.Options.Sampler} policy selects ({o.Run.Options.RoisPerBatch / o.Run.Options.ImagesPerBatch} per image) under its final weights"));
        Line(md, $"Columns, left to right: 1. the canvas with its ground truth (green) and hard negatives (yellow); {string.Join("; ", columns)}. "
            + $"Selected RoIs are red for background and blue for foreground, the harder (larger loss) the more opaque; ground truth in green on top. "
            + $"Rows: validation canvases 0 to {outcomes[0].Gallery.Count - 1} of {Code(outcomes[0].Run.Label)}'s validation set, enlarged {extras.GalleryScale}x; "
            + "the RoIs are the canvas's proposals and ground-truth boxes, labelled as in training.");
        Line(md);
        Line(md, $"| canvas | objects | {string.Join(" | ", outcomes.Select(o => $"{Code(o.Run.Label)} selected (fg) | mean loss selected / all"))} |");
        Line(md, $"|---:|---:|{string.Concat(outcomes.Select(_ => "---:|---:|"))}");
        for (var row = 0; row < outcomes[0].Gallery.Count; row++)
        {
            var index = outcomes[0].Gallery[row].CanvasIndex;
            var objects = outcomes[0].Gallery[row].Objects;
            var cells = outcomes.Select(o =>
            {
                var s = o.Gallery[row];
                return Invariant($"{s.Count} ({s.Foreground}) | {s.MeanSelectedLoss:F3} / {s.MeanLossAll:F3}");
            });
            Line(md, Invariant($"| {index} | {objects} | {string.Join(" | ", cells)} |"));
        }

        Line(md);
    }

    private static JsonElement? Setting(ReportedOutcome o, string name) =>
        o.Run.Settings.ValueKind == JsonValueKind.Object && o.Run.Settings.TryGetProperty(name, out var v) ? v : null;

    private static string PolicyTitle(string sampler) => sampler == SelectionPolicies.Ohem ? "OHEM" : sampler;

    private static void Header(StringBuilder md, string first, IReadOnlyList<ReportedOutcome> outcomes, string alignment)
    {
        Line(md, $"| {first} | {string.Join(" | ", outcomes.Select(o => Code(o.Run.Label)))} |");
        Line(md, $"|---|{string.Concat(outcomes.Select(_ => alignment))}");
    }

    private static void Row(StringBuilder md, string name, IReadOnlyList<ReportedOutcome> outcomes, Func<ReportedOutcome, string> cell) =>
        Line(md, $"| {Cell(name)} | {string.Join(" | ", outcomes.Select(o => Cell(cell(o))))} |");

    /// <summary>A table cell: a pipe would end it early.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Code(string text) => $"`{text.Replace("`", "'", StringComparison.Ordinal)}`";

    private static string Ms(double seconds) => (seconds * 1000).ToString("F2", CultureInfo.InvariantCulture);

    private static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static string F3(double v) => double.IsNaN(v) ? "–" : v.ToString("F3", CultureInfo.InvariantCulture);

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Signed(double v) => v.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void Line(StringBuilder md, string text = "") => md.Append(text).Append('\n');
}
