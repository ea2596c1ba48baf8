using System.CommandLine;
using System.Globalization;
using System.Text;
using Ohem.Core.Selection;
using Ohem.Trainer.Reporting;
using Ohem.Trainer.Training;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>
/// Hardness as other implementations define it: the ohem and topk policies ranking by the whole
/// loss (cls + box, the paper), the classification loss only (mmdetection's OHEMSampler) and the box
/// loss only (TF Object Detection's loss_type), each trained in process for the same steps and
/// seeds, beside fgbg. Per variant: validation mAP per seed, mean and sample std, the training loss
/// over all RoIs at the end and the foreground share of the selected RoIs. Runs are kept in
/// <c>--runs</c> and reused (<see cref="RunFolders"/>): the seeds benchmark's "ohem" and "fgbg"
/// folders are the same runs.
/// </summary>
internal static class HardnessBenchmark
{
    public static Command Command()
    {
        var d = new TrainOptions();
        var seeds = new Option<int[]>("--seeds") { Description = "Seeds; each trains every variant.", DefaultValueFactory = _ => [1], AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int>("--steps") { Description = "SGD steps per run.", DefaultValueFactory = _ => d.Steps };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation mAP every this many steps (0: at the end only).", DefaultValueFactory = _ => 250 };
        var threads = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => d.Threads };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the table and the note as Markdown here." };
        var runs = new Option<DirectoryInfo?>("--runs") { Description = "Keep the run folders here and reuse finished ones; default: a temporary folder." };
        var command = new Command("hardness", "Hardness: ohem and topk ranking by cls+box, cls or box loss, vs fgbg, validation mAP after equal steps.")
        {
            seeds, steps, evalEvery, threads, markdown, runs,
        };
        command.SetAction(r => Run(
            d with { Steps = r.GetValue(steps), EvalEvery = r.GetValue(evalEvery), Threads = r.GetValue(threads) },
            r.GetValue(seeds) ?? [], r.GetValue(markdown), r.GetValue(runs)));
        return command;
    }

    private sealed record Variant(string Policy, HardnessLoss? Hardness)
    {
        public string Name => Hardness is { } h ? $"{Policy}, hardness {h.Name()}" : Policy;

        /// <summary>The folder name; the default hardness passes no option, so its runs are the seeds benchmark's.</summary>
        public string Key => Hardness is null or HardnessLoss.ClassAndBox ? Policy : $"{Policy}-{Hardness.Value.Name()}";

        public IReadOnlyDictionary<string, string> Options =>
            Hardness is null or HardnessLoss.ClassAndBox ? new Dictionary<string, string>() : new Dictionary<string, string> { ["hardness"] = Hardness.Value.Name() };
    }

    private static readonly Variant[] Variants =
    [
        .. new[] { SelectionPolicies.Ohem, SelectionPolicies.TopK }.SelectMany(p => Enum.GetValues<HardnessLoss>().Select(h => new Variant(p, h))),
        new(SelectionPolicies.FgBg, null),
    ];

    private static int Run(TrainOptions options, int[] seeds, FileInfo? markdown, DirectoryInfo? runs)
    {
        options.Validate();
        if (seeds.Length == 0 || seeds.Distinct().Count() != seeds.Length)
        {
            throw new ArgumentException($"--seeds is '{string.Join(" ", seeds)}'; expected at least one seed, none repeated.", nameof(seeds));
        }

        var scratch = runs is null ? Directory.CreateTempSubdirectory("ohem-hardness-") : null;
        var folder = runs?.FullName ?? scratch!.FullName;
        var results = new FinishedRun[Variants.Length, seeds.Length];
        try
        {
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).Start(ctx =>
            {
                for (var s = 0; s < seeds.Length; s++)
                {
                    for (var v = 0; v < Variants.Length; v++)
                    {
                        var variant = Variants[v];
                        var task = ctx.AddTask($"seed {seeds[s]}, {variant.Name}", maxValue: options.Steps);
                        var run = options with
                        {
                            Sampler = variant.Policy, SamplerOptions = variant.Options, Seed = seeds[s],
                            Output = Path.Combine(folder, $"{variant.Key}-seed{seeds[s]}"),
                        };
                        results[v, s] = RunFolders.TrainOrReuse(run, record => task.Value = record.Step);
                        task.Value = options.Steps;
                        task.StopTask();
                    }
                }
            });
        }
        finally
        {
            scratch?.Delete(recursive: true);
        }

        Print(options, seeds, results, markdown);
        return 0;
    }

    private static void Print(TrainOptions options, int[] seeds, FinishedRun[,] results, FileInfo? markdown)
    {
        static string F(double v, string format) => ResultTable.Number(v, format);
        string[] headers = ["policy (hardness)", .. seeds.Select(s => $"mAP seed {s}"), "mean mAP", "sample std", "final loss (all RoIs)", "fg share selected"];
        var rows = new List<string[]>();
        for (var v = 0; v < Variants.Length; v++)
        {
            var maps = Enumerable.Range(0, seeds.Length).Select(s => results[v, s].MeanAp).ToArray();
            var losses = Enumerable.Range(0, seeds.Length).Select(s => results[v, s].FinalLossAll ?? double.NaN).ToArray();
            var foreground = Enumerable.Range(0, seeds.Length).Select(s => RunCurves.FinalForegroundShare(results[v, s].Lines) ?? double.NaN).ToArray();
            rows.Add([Variants[v].Name, .. maps.Select(m => F(m, "0.0000")), F(maps.Average(), "0.0000"), F(RunCurves.SampleStd(maps), "0.0000"),
                F(losses.Average(), "0.000"), F(foreground.Average(), "0.00")]);
        }

        var title = $"Hardness: validation mAP (VOC AP@0.5) after {options.Steps} steps by the loss term ranked "
            + $"({options.TrainImages} train / {options.ValidationImages} val canvases, {options.Threads} thread(s), in process)";
        var md = ResultTable.Write(title, headers, rows);
        var note = "Only the ranking changes: every variant trains its selected RoIs on the whole multi-task loss. cls+box is the "
            + "paper's hardness; cls is mmdetection's OHEMSampler (it ranks by the classification loss); box is TF Object Detection's "
            + "hard example miner with loss_type LOCALIZATION (background RoIs have no box loss, so they are ranked last). topk is "
            + "the hardest B / N per image without NMS. Final loss: mean loss over all RoIs in the last "
            + $"{100 * RunCurves.FinalShare:G2}% of the steps; fg share: mean foreground fraction of the selected RoIs over the same steps.";
        md.AppendLine().AppendLine(note);
        Console.WriteLine(note);
        if (markdown is not null)
        {
            File.WriteAllText(markdown.FullName, md.ToString());
        }
    }
}
