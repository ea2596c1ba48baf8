using System.CommandLine;
using System.Globalization;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Training;
using Spectre.Console;

namespace Ohem.Trainer.Cli;

/// <summary><c>eval</c>: VOC AP at IoU 0.5 per class and mAP of a run's checkpoint on a held-out split.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Run folder written by `train` (run.json, checkpoint.pt).", Required = true };
        var split = new Option<string>("--split") { Description = "validation | test.", DefaultValueFactory = _ => "validation" };
        var images = new Option<int?>("--images") { Description = "Canvases to evaluate (default: the run's --val-images)." };
        var threads = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => 2 };
        var command = new Command("eval", "Evaluate a trained run: VOC AP@0.5 per class and mAP.") { run, split, images, threads };
        command.SetAction(r => Cli.Run(() => Evaluate(r.GetValue(run)!, r.GetValue(split)!, r.GetValue(images), r.GetValue(threads))));
        return command;
    }

    private static int Evaluate(string runFolder, string splitName, int? images, int threads)
    {
        var split = splitName.ToLowerInvariant() switch
        {
            "validation" or "val" => DetectionSplit.Validation,
            "test" => DetectionSplit.Test,
            _ => throw new ArgumentException($"--split is '{splitName}'; expected validation or test."),
        };
        if (threads < 1)
        {
            throw new ArgumentException($"--threads is {threads}; expected at least 1.");
        }

        var options = TrainingRun.ReadRunFile(runFolder);
        var count = images ?? options.ValidationImages;
        if (count < 1)
        {
            throw new ArgumentException($"--images is {count}; expected at least 1.");
        }

        TorchRuntime.SetThreads(threads);
        using var detector = Detector.Create(options.Detector);
        detector.Load(Path.Combine(runFolder, TrainingRun.CheckpointFile));
        var data = DetectionDataset.Create(split, count, options.Seed, proposals: options.Proposals);
        var result = AnsiConsole.Status().Start($"evaluating {count} {split} canvases", _ => Validation.Evaluate(detector, data));
        var table = new Table().AddColumn("class").AddColumn(new TableColumn("AP@0.5").RightAligned());
        for (var c = 0; c < result.ApPerClass.Count; c++)
        {
            table.AddRow(Markup.Escape(FashionMnist.ClassNames[c]), result.ApPerClass[c].ToString("F3", CultureInfo.InvariantCulture));
        }

        table.AddRow("[bold]mAP[/]", $"[bold]{result.MeanAp.ToString("F3", CultureInfo.InvariantCulture)}[/]");
        AnsiConsole.Write(table);
        return 0;
    }
}
