using System.CommandLine;
using System.Globalization;
using System.Text;
using Ohem.Core.Selection;
using Ohem.Trainer.Reporting;
using Ohem.Trainer.Training;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>
/// The learning effect: final validation mAP of OHEM and of the fgbg baseline after the same number
/// of steps, once per seed (the seed draws the canvases, the proposals, the batch order, the
/// network's initialisation and fgbg's sampling), each run mined in process by
/// <see cref="TrainingRun"/> exactly as <c>train --sampler ohem|fgbg</c> trains it. Per seed: the
/// mAPs, the paired differences, the training loss over all RoIs at the end and the mean iteration
/// times; then the mean and the sample standard deviation of each column, and the mAP curves
/// averaged over the seeds. With <c>--via-miner</c> each seed also trains OHEM through the miner
/// service on loopback at <c>--miner-staleness</c> (default 1, the pipelined path; 0 is the main job's). With
/// <c>--backbone-weights</c> every run starts from a pretrained backbone. Runs are kept in
/// <c>--runs</c> and reused when already there (<see cref="RunFolders"/>).
/// </summary>
internal static class SeedsBenchmark
{
    public static Command Command()
    {
        var d = new TrainOptions();
        var seeds = new Option<int[]>("--seeds") { Description = "Seeds; each trains both samplers.", DefaultValueFactory = _ => [1, 2, 3], AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int>("--steps") { Description = "SGD steps per run.", DefaultValueFactory = _ => d.Steps };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation mAP every this many steps (the curves; 0: at the end only).", DefaultValueFactory = _ => 250 };
        var trainImages = new Option<int>("--train-images") { Description = "Training canvases.", DefaultValueFactory = _ => d.TrainImages };
        var valImages = new Option<int>("--val-images") { Description = "Validation canvases.", DefaultValueFactory = _ => d.ValidationImages };
        var threads = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => d.Threads };
        var backboneWeights = new Option<string?>("--backbone-weights") { Description = "Start every run's backbone from these weights (pretrain's backbone.weights)." };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the table and the note as Markdown here." };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Also write charts here: mAP per seed (seeds-map.svg) and the mean mAP curves (seeds-map-curves.svg)." };
        var runs = new Option<DirectoryInfo?>("--runs") { Description = "Keep the run folders here (<variant>-seed<N>) and reuse finished ones; default: a temporary folder." };
        var viaMiner = new Option<bool>("--via-miner") { Description = "Also train OHEM through the miner service on loopback (at --miner-staleness)." };
        var minerStaleness = new Option<int>("--miner-staleness") { Description = "With --via-miner: the trainer's --max-staleness s (1: pipelined; 0: synchronous, the paper's and the main job's).", DefaultValueFactory = _ => 1 };
        var command = new Command("seeds", "Learning effect: validation mAP of OHEM vs fgbg after equal steps, per seed, with mean and standard deviation.")
        {
            seeds, steps, evalEvery, trainImages, valImages, threads, backboneWeights, markdown, output, runs, viaMiner, minerStaleness,
        };
        command.SetAction(r =>
        {
            var options = d with
            {
                Steps = r.GetValue(steps),
                EvalEvery = r.GetValue(evalEvery),
                TrainImages = r.GetValue(trainImages),
                ValidationImages = r.GetValue(valImages),
                Threads = r.GetValue(threads),
                BackboneWeights = r.GetValue(backboneWeights),
            };
            var staleness = r.GetValue(minerStaleness);
            if (staleness < 0)
            {
                throw new ArgumentException($"--miner-staleness is {staleness}; expected at least 0.", nameof(minerStaleness));
            }

            Variant[] variants = r.GetValue(viaMiner)
                ? [.. InProcess, new($"OHEM via miner (s = {staleness})", $"ohem-miner-s{staleness}", SelectionPolicies.Ohem, "#ff7f0e", staleness)]
                : InProcess;
            return Run(options, r.GetValue(seeds) ?? [], variants, r.GetValue(markdown), r.GetValue(output), r.GetValue(runs)).GetAwaiter().GetResult();
        });
        return command;
    }

    /// <summary>One way of training: OHEM and fgbg in process, then optionally OHEM through the miner.</summary>
    private sealed record Variant(string Name, string Key, string Sampler, string Color, int? MinerStaleness = null);

    private static readonly Variant[] InProcess =
        [new("OHEM", "ohem", SelectionPolicies.Ohem, "#d62728"), new("fgbg", "fgbg", SelectionPolicies.FgBg, "#1f77b4")]; // the report's colours

    private const string Std = "sample std";

    /// <summary>One seed's runs, indexed as the variants.</summary>
    private sealed record SeedRow(int Seed, FinishedRun[] Runs)
    {
        public double Map(int variant) => Runs[variant].MeanAp;
    }

    private static async Task<int> Run(TrainOptions options, int[] seeds, Variant[] variants, FileInfo? markdown, DirectoryInfo? output, DirectoryInfo? runs)
    {
        options.Validate();
        if (seeds.Length == 0 || seeds.Distinct().Count() != seeds.Length)
        {
            throw new ArgumentException($"--seeds is '{string.Join(" ", seeds)}'; expected at least one seed, none repeated.", nameof(seeds));
        }

        var scratch = runs is null ? Directory.CreateTempSubdirectory("ohem-seeds-") : null;
        var folder = runs?.FullName ?? scratch!.FullName;
        var rows = new List<SeedRow>();
        var miner = variants.Length > 2 ? await BenchMiner.StartAsync(options.Threads) : null;
        try
        {
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).Start(ctx =>
            {
                foreach (var seed in seeds)
                {
                    var finished = new FinishedRun[variants.Length];
                    for (var v = 0; v < variants.Length; v++)
                    {
                        var variant = variants[v];
                        var task = ctx.AddTask($"seed {seed}, {variant.Name}", maxValue: options.Steps);
                        var run = options with { Sampler = variant.Sampler, Seed = seed, Output = Path.Combine(folder, $"{variant.Key}-seed{seed}") };
                        if (variant.MinerStaleness is { } s)
                        {
                            run = run with { Miners = [miner!.Address], MaxStaleness = s, JobId = $"seeds-{seed}" };
                        }

                        finished[v] = RunFolders.TrainOrReuse(run, record => task.Value = record.Step);
                        task.Value = options.Steps;
                        task.StopTask();
                    }

                    rows.Add(new SeedRow(seed, finished));
                }
            });
        }
        finally
        {
            scratch?.Delete(recursive: true);
            if (miner is not null)
            {
                await miner.DisposeAsync();
            }
        }

        Print(options, variants, rows, markdown);
        if (output is not null)
        {
            output.Create();
            ChartFiles.Save(Chart(options, variants, rows), Path.Combine(output.FullName, "seeds-map.svg"));
            if (MeanCurves(variants, rows) is { } curves)
            {
                ChartFiles.Save(curves, Path.Combine(output.FullName, "seeds-map-curves.svg"));
            }
        }

        return 0;
    }

    private static ScottPlot.Plot Chart(TrainOptions options, Variant[] variants, List<SeedRow> rows)
    {
        var series = variants.Select((variant, v) => new BarSeries(
            variant.Name, variant.Color, [.. rows.Select(r => r.Map(v)), rows.Average(r => r.Map(v))])).ToList();
        return GroupedBarChart.Build(
            $"Validation mAP after {options.Steps} steps, per seed", "mAP (VOC AP@0.5)",
            [.. rows.Select(r => $"seed {r.Seed}"), "mean"], series);
    }

    /// <summary>Each variant's validation mAP at every step all seeds evaluated, averaged over the seeds; null without evaluations along the way.</summary>
    private static ScottPlot.Plot? MeanCurves(Variant[] variants, List<SeedRow> rows)
    {
        var series = new List<ChartSeries>();
        for (var v = 0; v < variants.Length; v++)
        {
            var curves = rows.Select(r => RunCurves.Map(r.Runs[v].Lines).ToDictionary(p => p.Step, p => p.Map)).ToList();
            var steps = curves[0].Keys.Where(step => curves.All(c => c.ContainsKey(step))).Order().ToList();
            series.Add(new ChartSeries(variants[v].Name, variants[v].Color, [.. steps.Select(step => ((double)step, curves.Average(c => c[step])))]) { Markers = true });
        }

        return series.All(s => s.Points.Count > 1)
            ? LineChart.Build($"Validation mAP during training, mean over {rows.Count} seed(s)", "step", "mAP (VOC AP@0.5)", series, 0, null)
            : null;
    }

    private static void Print(TrainOptions options, Variant[] variants, List<SeedRow> rows, FileInfo? markdown)
    {
        static string F(double v, string format) => ResultTable.Number(v, format);

        // Columns: each variant's mAP, the paired differences, each variant's final loss over all
        // RoIs, each variant's ms per iteration.
        var columns = new List<(string Header, Func<SeedRow, double> Value, bool Signed, string Format)>();
        columns.AddRange(variants.Select((v, i) => ($"{v.Name} mAP", (Func<SeedRow, double>)(r => r.Map(i)), false, "0.0000")));
        columns.Add(("OHEM - fgbg", r => r.Map(0) - r.Map(1), true, "0.0000"));
        if (variants.Length > 2)
        {
            columns.Add(("via miner - fgbg", r => r.Map(2) - r.Map(1), true, "0.0000"));
            columns.Add(("via miner - OHEM", r => r.Map(2) - r.Map(0), true, "0.0000"));
        }

        columns.AddRange(variants.Select((v, i) => ($"{v.Name} final loss (all RoIs)", (Func<SeedRow, double>)(r => r.Runs[i].FinalLossAll ?? double.NaN), false, "0.000")));
        columns.AddRange(variants.Select((v, i) => ($"{v.Name} ms/iteration", (Func<SeedRow, double>)(r => r.Runs[i].IterationSeconds * 1e3), false, "0.0")));
        string Cell(double value, bool signed, string format, bool std) => F(value, signed && !std ? $"+{format};-{format};{format}" : format);
        string[] headers = ["seed", .. columns.Select(c => c.Header)];
        var table = rows.Select(r => (string[])[r.Seed.ToString(CultureInfo.InvariantCulture), .. columns.Select(c => Cell(c.Value(r), c.Signed, c.Format, false))]).ToList();
        foreach (var (label, stat) in new (string, Func<IEnumerable<double>, double>)[] { ("mean", v => v.Average()), (Std, RunCurves.SampleStd) })
        {
            table.Add([label, .. columns.Select(c => Cell(stat(rows.Select(c.Value)), c.Signed, c.Format, label == Std))]);
        }

        var start = options.BackboneWeights is null ? "from scratch" : "from the pretrained backbone";
        var title = $"Validation mAP (VOC AP@0.5) after {options.Steps} steps {start}, {string.Join(" vs ", variants.Select(v => v.Name))}, per seed "
            + $"({options.TrainImages} train / {options.ValidationImages} val canvases, {options.Threads} thread(s), N = {options.ImagesPerBatch}, B = {options.RoisPerBatch})";
        var md = ResultTable.Write(title, headers, table);
        var ratio = rows.Average(r => r.Runs[0].IterationSeconds) / rows.Average(r => r.Runs[1].IterationSeconds);
        var reused = rows.Sum(r => r.Runs.Count(x => x.Reused));
        var note =
            $"OHEM is ahead of fgbg on {rows.Count(r => r.Map(0) > r.Map(1))} of {rows.Count} seed(s). Each seed draws the canvases and their "
            + "proposals (training and validation), the batch order, the network's initialisation and fgbg's sampling; within a seed "
            + "every variant sees the same data, so the differences are paired. Runs are trained by `TrainingRun` as "
            + "`train --sampler ohem|fgbg` trains them (OHEM: NMS 0.7 over the loss, the hardest B / N per image; fgbg: Fast R-CNN's "
            + "heuristic, 25% foreground, background at IoU [0.1, 0.5)); mAP is on the validation canvases after the last step. "
            + $"Final loss is the mean loss over all RoIs in the last {100 * RunCurves.FinalShare:G2}% of the steps (fgbg: its every-10th-step probe). "
            + "Iteration time is the mean over the steps after the first 10 (the probe excluded): "
            + $"OHEM's mean iteration takes {F(ratio, "0.00")}x fgbg's. The standard deviation is the sample one (n - 1). "
            + (reused > 0 ? $"{reused} of the {rows.Count * variants.Length} runs were read from finished run folders (their times are those of the invocation that trained them). " : "")
            + "The paper reports OHEM +2.4 to +4.8 mAP over Fast R-CNN's heuristic sampling on VOC07 (VGG_CNN_M_1024, ImageNet "
            + "initialisation); this is a small detector on Fashion-MNIST canvases, and we report whatever we measure."
            + (variants.Length > 2
                ? $" {variants[2].Name}: the same seed's OHEM trained through the miner "
                    + "service on loopback (in this process, ONNX Runtime scoring, a version published per step; at s = 1 batch t + 1 is "
                    + "scored while batch t trains, at s = 0 every batch waits for the newest weights)."
                : "");
        md.AppendLine().AppendLine(note);
        Console.WriteLine(note);
        if (markdown is not null)
        {
            File.WriteAllText(markdown.FullName, md.ToString());
        }
    }
}
