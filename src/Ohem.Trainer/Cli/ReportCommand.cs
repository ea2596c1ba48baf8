using System.CommandLine;
using System.Globalization;
using Ohem.Trainer.Reporting;
using Spectre.Console;

namespace Ohem.Trainer.Cli;

/// <summary><c>report</c>: compares finished runs in a folder of markdown, SVG charts and a selection gallery.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var d = new ReportExtras();
        var runs = new Option<string[]>("--runs") { Description = "Run folders written by `train` (the fgbg run is the iteration-time baseline).", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Report folder (report.md, *.svg, gallery.png).", DefaultValueFactory = _ => "runs/report" };
        var gallery = new Option<int>("--gallery") { Description = "Validation canvases in the selection gallery (0: none).", DefaultValueFactory = _ => d.GalleryCanvases };
        var images = new Option<int?>("--val-images") { Description = "Validation canvases to re-evaluate each checkpoint on (default: each run's --val-images)." };
        var threads = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => d.Threads };
        var command = new Command("report", "Compare finished runs: settings, AP per class, time per stage, curves and a selection gallery.")
        {
            runs, output, gallery, images, threads,
        };
        command.SetAction(r => Cli.Run(() => Write(
            r.GetValue(output)!,
            r.GetValue(runs) ?? [],
            d with { GalleryCanvases = r.GetValue(gallery), ValidationImages = r.GetValue(images), Threads = r.GetValue(threads) })));
        return command;
    }

    private static int Write(string output, string[] runFolders, ReportExtras extras)
    {
        extras.Validate();
        ReportResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("reading runs", maxValue: 1);
                result = RunReport.Write(output, runFolders, extras with
                {
                    Progress = p =>
                    {
                        task.MaxValue = p.Total;
                        task.Value = p.Done;
                        task.Description = Markup.Escape(p.Description);
                    },
                });
            });

        var report = result!;
        var table = new Table().AddColumn("run").AddColumn("sampler").AddColumn(new TableColumn("mAP").RightAligned())
            .AddColumn(new TableColumn("ms / iteration").RightAligned()).AddColumn(new TableColumn("/ fgbg").RightAligned());
        foreach (var o in report.Runs)
        {
            table.AddRow(
                Markup.Escape(o.Run.Label),
                Markup.Escape(o.Run.Options.Sampler),
                o.Validation.MeanAp.ToString("F3", CultureInfo.InvariantCulture),
                (o.Run.Times.Iteration * 1000).ToString("F2", CultureInfo.InvariantCulture),
                report.IterationRatio(o) is { } ratio ? ratio.ToString("F2", CultureInfo.InvariantCulture) : "-");
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"report: [blue]{report.Markdown}[/]");
        return 0;
    }
}
