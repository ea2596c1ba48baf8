using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Ohem.Torch;
using Ohem.Trainer.Cli;
using Ohem.Trainer.Data;
using Ohem.Trainer.Evaluation;
using Ohem.Trainer.Reporting;
using Ohem.Trainer.Tests.Support;
using Ohem.Trainer.Training;
using SkiaSharp;

namespace Ohem.Trainer.Tests.Reporting;

/// <summary>Two tiny real runs (ohem and fgbg) and the report over them, made once for the class.</summary>
public sealed class TinyRunsReport : IDisposable
{
    private readonly Lazy<ReportResult> _report;

    public TinyRunsReport()
    {
        _report = new Lazy<ReportResult>(() =>
        {
            foreach (var options in new[] { Ohem, FgBg })
            {
                TrainingRun.Run(options);
            }

            return RunReport.Write(Path.Combine(Root, "report"), [Ohem.Output, FgBg.Output], new ReportExtras { Progress = p => Progress.Add(p) });
        });
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"ohem-report-{Guid.NewGuid():N}");

    public TrainOptions Ohem => TinyRun.Options(Root, "ohem");

    public TrainOptions FgBg => TinyRun.Options(Root, "fgbg");

    public List<ReportProgress> Progress { get; } = [];

    /// <summary>Trains both runs and writes the report on first use.</summary>
    public ReportResult Report => _report.Value;

    public string Markdown => File.ReadAllText(Report.Markdown);

    public void Dispose()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}

/// <summary>The report end to end over real runs (real data, real libtorch).</summary>
[Collection(LibtorchThreads.Name)]
public sealed class RunReportTests(TinyRunsReport runs) : IClassFixture<TinyRunsReport>
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [NeedsFact(Needs.FashionMnist)]
    public void The_headline_gives_the_difference_to_fgbg_the_final_loss_and_the_spread_over_seeds()
    {
        var report = runs.Report;
        var ohem = report.Runs.Single(o => o.Run.Sampler == "ohem");
        var fgbg = report.Runs.Single(o => o.Run.Sampler == "fgbg");
        var difference = (ohem.Validation.MeanAp - fgbg.Validation.MeanAp).ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
        Assert.Contains($"`ohem` - `fgbg`: **{difference}** mAP", runs.Markdown, StringComparison.Ordinal);
        var loss = RunCurves.FinalLossAll(ohem.Run.Lines)!.Value.ToString("F3", CultureInfo.InvariantCulture);
        var lossLine = runs.Markdown.Split('\n').Single(l => l.StartsWith("- Training loss over all RoIs", StringComparison.Ordinal));
        Assert.Contains($"`ohem` {loss}", lossLine, StringComparison.Ordinal);
        Assert.DoesNotContain("seeds (", runs.Markdown, StringComparison.Ordinal); // one seed each: no spread

        // A second seed of the same OHEM run: the headline gives the mean and the sample std over the two.
        var second = TinyRun.Options(runs.Root, "ohem") with { Seed = 2, Output = Path.Combine(runs.Root, "ohem-seed2") };
        TrainingRun.Run(second);
        var both = RunReport.Write(Path.Combine(runs.Root, "report-seeds"), [runs.Ohem.Output, second.Output, runs.FgBg.Output], new ReportExtras { GalleryCanvases = 0 });
        double[] maps = [.. both.Runs.Where(o => o.Run.Sampler == "ohem").Select(o => (double)o.Validation.MeanAp)];
        var mean = maps.Average();
        var std = Math.Sqrt(maps.Sum(m => (m - mean) * (m - mean)));
        Assert.Contains(
            string.Create(CultureInfo.InvariantCulture, $"over 2 seeds (`ohem`, `ohem-seed2`): mAP **{mean:F3} ± {std:F3}**"),
            File.ReadAllText(both.Markdown), StringComparison.Ordinal);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Both_runs_map_and_ap_per_class_are_what_validation_gives_for_their_checkpoints()
    {
        var report = runs.Report;
        var markdown = runs.Markdown;
        var mapRow = Row(markdown, "**mAP**");
        for (var r = 0; r < 2; r++)
        {
            var options = r == 0 ? runs.Ohem : runs.FgBg;
            using var detector = Detector.Create(TrainingRun.ReadRunFile(options.Output).Detector);
            detector.Load(Path.Combine(options.Output, TrainingRun.CheckpointFile));
            var data = DetectionDataset.Create(DetectionSplit.Validation, options.ValidationImages, options.Seed, proposals: options.Proposals);
            // The report evaluates its two runs side by side, sharing ReportExtras.Threads between
            // them. libtorch's sums (OpenBLAS's GEMMs) differ in the last bits with the thread
            // count, which can reorder near-tied detections: evaluate with the same count.
            var previousThreads = TorchRuntime.Threads;
            TorchRuntime.SetThreads(Math.Max(1, new ReportExtras().Threads / 2));
            VocResult expected;
            try
            {
                expected = Validation.Evaluate(detector, data);
            }
            finally
            {
                TorchRuntime.SetThreads(previousThreads);
            }

            Assert.Equal(options.Sampler, report.Runs[r].Run.Label);
            Assert.Equal(expected.MeanAp, report.Runs[r].Validation.MeanAp);
            Assert.Equal(expected.ApPerClass, report.Runs[r].Validation.ApPerClass);
            Assert.Equal($"**{F3(expected.MeanAp)}**", mapRow[r + 1]);
            for (var c = 0; c < FashionMnist.ClassNames.Count; c++)
            {
                var cell = Row(markdown, FashionMnist.ClassNames[c])[r + 1];
                Assert.Equal(float.IsNaN(expected.ApPerClass[c]) ? "–" : F3(expected.ApPerClass[c]), cell);
            }

            // The checkpoint is the final weights, so the re-evaluation equals the last logged val_map.
            var logged = ReadLog(options.Output)[^1].GetProperty("val_map").GetSingle();
            Assert.Equal(F3(logged), Row(markdown, "mAP logged at the last step")[r + 1]);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void The_headline_ratio_is_the_mean_iteration_times_from_the_logs()
    {
        // Independently of the report's reader: 6 steps, so every step counts (no warm-up to skip).
        double Mean(string folder) => ReadLog(folder).Average(l => l.GetProperty("iteration_seconds").GetDouble());
        var ratio = Mean(runs.Ohem.Output) / Mean(runs.FgBg.Output);
        var markdown = runs.Markdown;

        Assert.Contains($"OHEM iteration time / fgbg iteration time: **{F2(ratio)}**", markdown, StringComparison.Ordinal);
        Assert.Equal(ratio, runs.Report.IterationRatio(runs.Report.Runs[0])!.Value, 9);
        Assert.Same(runs.Report.Runs[1], runs.Report.Baseline);
        var header = Row(markdown, "run");
        var ohem = Row(markdown, "`ohem`");
        Assert.Equal(F2(ratio), ohem[Array.IndexOf(header, "/ fgbg iteration")]);
        Assert.Equal($"**{(Mean(runs.Ohem.Output) * 1000).ToString("F2", CultureInfo.InvariantCulture)}**", ohem[Array.IndexOf(header, "**iteration**")]);
        foreach (var stage in new[] { "data", "backbone", "mining", "head fwd/bwd", "sgd step" })
        {
            Assert.Contains(stage, header);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Settings_name_each_runs_sampler_batch_and_detector_shape()
    {
        var markdown = runs.Markdown;
        Assert.Equal(["sampler", "ohem", "fgbg"], Row(markdown, "sampler"));
        Assert.Equal(["steps", "6", "6"], Row(markdown, "steps"));
        Assert.Equal(["N images per batch", "2", "2"], Row(markdown, "N images per batch"));
        Assert.StartsWith("backbone [8, 16], stride 4", Row(markdown, "detector")[1], StringComparison.Ordinal);
        Assert.DoesNotContain("miners", markdown, StringComparison.Ordinal); // in-process runs: no miner rows
        Assert.DoesNotContain("staleness (trainer", markdown, StringComparison.Ordinal);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Charts_are_well_formed_svg_with_a_png_beside_each_a_legend_entry_per_run_and_every_link_resolves()
    {
        var report = runs.Report;
        var markdown = runs.Markdown;
        var links = Regex.Matches(markdown, @"!\[[^\]]*\]\(([^)]+)\)").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(report.Charts.Select(c => c.File).Append(RunReport.GalleryFile).Order(), links.Order());
        Assert.All(links, l => Assert.True(File.Exists(Path.Combine(report.Folder, l)), l));

        foreach (var file in new[] { "loss-all.svg", "loss-selected.svg", "val-map.svg", "fg-fraction.svg", "stage-times.svg" })
        {
            var texts = XDocument.Load(Path.Combine(report.Folder, file)).Descendants(Svg + "text").Select(t => t.Value.Trim()).ToList();
            Assert.Contains("ohem", texts);
            Assert.Contains("fgbg", texts);
            using var png = SKBitmap.Decode(Path.Combine(report.Folder, Path.ChangeExtension(file, ".png")));
            Assert.Equal((ChartFiles.Width, ChartFiles.Height), (png.Width, png.Height));
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void The_gallery_png_decodes_to_a_row_per_canvas_and_a_column_per_run_plus_ground_truth()
    {
        var report = runs.Report;
        using var gallery = SKBitmap.Decode(report.Gallery!);
        var tile = 128 * 3;
        Assert.Equal((3 * tile) + (4 * SelectionGallery.Gap), gallery.Width);
        Assert.Equal((2 * tile) + (3 * SelectionGallery.Gap), gallery.Height); // 2 validation canvases

        // Ground truth of canvas 0 in solid green at its scaled corner, in every column.
        var data = DetectionDataset.Create(DetectionSplit.Validation, 2, runs.Ohem.Seed, proposals: runs.Ohem.Proposals);
        var canvas = data.Canvas(0);
        for (var column = 0; column < 3; column++)
        {
            var x = SelectionGallery.Gap + (column * (tile + SelectionGallery.Gap)) + (int)(canvas.Boxes[0] * 3);
            var y = SelectionGallery.Gap + (int)(canvas.Boxes[1] * 3);
            Assert.Equal(new SKColor(40, 220, 40), gallery.GetPixel(x, y));
        }

        // The gaps are white.
        for (var x = 0; x < gallery.Width; x += 7)
        {
            Assert.Equal(SKColors.White, gallery.GetPixel(x, SelectionGallery.Gap / 2));
        }

        Assert.All(report.Runs, o => Assert.Equal(2, o.Gallery.Count));
        Assert.All(report.Runs, o => Assert.All(o.Gallery, s => Assert.InRange(s.Count, 1, 64)));
        Assert.All(report.Runs[0].Gallery, s => Assert.True(s.Losses.Zip(s.Losses.Skip(1)).All(p => p.First >= p.Second)));
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Progress_is_reported_from_zero_to_the_total()
    {
        _ = runs.Report;
        var progress = runs.Progress;
        Assert.Equal(0, progress[0].Done);
        Assert.Equal(progress[0].Total, progress[^1].Done);
        Assert.True(progress.Zip(progress.Skip(1)).All(p => p.First.Done <= p.Second.Done));
    }

    [NeedsFact(Needs.FashionMnist)]
    public void A_missing_run_folder_or_file_is_named_before_anything_is_written()
    {
        _ = runs.Report;
        var missing = Path.Combine(runs.Root, "no-such-run");
        var output = Path.Combine(runs.Root, "never-written");
        var e = Assert.Throws<ArgumentException>(() => RunReport.Write(output, [runs.Ohem.Output, missing]));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));

        var partial = Path.Combine(runs.Root, "partial");
        Directory.CreateDirectory(partial);
        File.Copy(Path.Combine(runs.Report.Runs[0].Run.Folder, TrainingRun.RunFile), Path.Combine(partial, TrainingRun.RunFile), overwrite: true);
        File.Copy(Path.Combine(runs.Report.Runs[0].Run.Folder, TrainingRun.MetricsFile), Path.Combine(partial, TrainingRun.MetricsFile), overwrite: true);
        var f = Assert.Throws<FileNotFoundException>(() => RunReport.Write(output, [partial]));
        Assert.Contains(Path.Combine(partial, TrainingRun.CheckpointFile), f.Message, StringComparison.Ordinal);

        Assert.Equal("runFolders", Assert.Throws<ArgumentException>(() => RunReport.Write(output, [])).ParamName);
        Assert.Throws<ArgumentException>(() => RunReport.Write(output, [runs.Ohem.Output], new ReportExtras { GalleryCanvases = -1 }));
    }

    [NeedsFact(Needs.FashionMnist)]
    public void The_cli_command_writes_a_report_and_fails_with_exit_code_2_on_a_missing_run()
    {
        _ = runs.Report;
        var root = new RootCommand { ReportCommand.Create() };
        var output = Path.Combine(runs.Root, "cli-report");
        Assert.Equal(0, root.Parse(["report", "--runs", runs.Ohem.Output, runs.FgBg.Output, "--out", output, "--gallery", "1"]).Invoke());
        Assert.Contains("OHEM iteration time / fgbg iteration time", File.ReadAllText(Path.Combine(output, RunReport.MarkdownFile)), StringComparison.Ordinal);
        Assert.Equal(2, root.Parse(["report", "--runs", Path.Combine(runs.Root, "missing"), "--out", output]).Invoke());
    }

    [NeedsFact(Needs.FashionMnist)]
    public void A_run_mined_by_the_service_shows_its_miners_publish_time_and_staleness_but_never_its_token()
    {
        // The ohem run as if it had mined remotely: the fields the trainer logs with a miner service.
        _ = runs.Report;
        var remote = Path.Combine(runs.Root, "remote");
        Directory.CreateDirectory(remote);
        File.Copy(Path.Combine(runs.Ohem.Output, TrainingRun.CheckpointFile), Path.Combine(remote, TrainingRun.CheckpointFile), overwrite: true);
        var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(runs.Ohem.Output, TrainingRun.RunFile)))!.AsObject();
        settings["Miners"] = new JsonArray("http://miner-a:50051", "http://miner-b:50051");
        settings["MaxStaleness"] = 2;
        settings["MinerToken"] = "s3cret-token";
        File.WriteAllText(Path.Combine(remote, TrainingRun.RunFile), settings.ToJsonString());
        var staleness = new[] { 0, 1, 2, 1, 0, 2 };
        var lines = ReadLog(runs.Ohem.Output).Select((l, i) =>
        {
            var text = l.GetRawText();
            var seconds = text.IndexOf("\"probe\"", StringComparison.Ordinal);
            text = text.Insert(seconds, "\"publish\":0.5,");
            var fields = i == 3
                ? ",\"remote\":false,\"fallback\":\"miner unavailable\"}"
                : Invariant($",\"remote\":true,\"scored_version\":{i},\"trainer_version\":{i + staleness[i]},\"staleness\":{staleness[i]},\"rescored\":{(i == 2 ? "true" : "false")}}}");
            return text[..^1] + fields;
        });
        File.WriteAllLines(Path.Combine(remote, TrainingRun.MetricsFile), lines);

        // The miner's /metrics as scraped at the end: job named after the folder, 3 answers 0, 0 and 2 versions behind.
        var minerMetrics = new Service.Metrics.MinerMetrics();
        foreach (var (scored, newest) in new ulong[][] { [4, 4], [5, 5], [3, 5] }.Select(p => (p[0], p[1])))
        {
            minerMetrics.Record("train-remote", new Protocol.V1.MineResponse { WeightsVersion = scored, Timings = new() }, newest);
        }

        minerMetrics.WeightsVersion.WithLabels("train-remote").Set(5);
        File.WriteAllText(Path.Combine(remote, MinerView.FileName), minerMetrics.Render());

        var report = RunReport.Write(Path.Combine(runs.Root, "remote-report"), [remote, runs.FgBg.Output], new ReportExtras { GalleryCanvases = 0 });
        var markdown = File.ReadAllText(report.Markdown);
        Assert.Null(report.Gallery);
        Assert.DoesNotContain("gallery.png", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", markdown, StringComparison.Ordinal);
        Assert.Equal(["miners", "`http://miner-a:50051`, `http://miner-b:50051`", "in process"], Row(markdown, "miners"));
        Assert.Equal(["max staleness", "2", "–"], Row(markdown, "max staleness"));

        // Staleness over the 5 remote steps (0, 1, 2, 0, 2; step 4 fell back): mean 1.00, max 2.
        Assert.Equal(["`remote`", "5 of 6", "1.00", "2", "1", "1", "5"], Row(markdown, "`remote`", after: "| run | remote steps"));
        Assert.Equal("in process", Row(markdown, "`fgbg`", after: "| run | remote steps")[1]);
        Assert.Equal(["`remote`", "`train-remote`", "3", "0", "0.67", "66.7 %", "≤ 2", "5"], Row(markdown, "`remote`", after: "(miner's view)")[..8]);
        Assert.DoesNotContain("`fgbg` | `", markdown[markdown.IndexOf("(miner's view)", StringComparison.Ordinal)..], StringComparison.Ordinal);

        // Publishing is a stage of the iteration: 0.5 s more per step than the ohem run it copies.
        var header = Row(markdown, "run");
        var ohemIteration = ReadLog(runs.Ohem.Output).Average(l => l.GetProperty("iteration_seconds").GetDouble());
        Assert.Equal("500.00", Row(markdown, "`remote`", after: "| run | data")[Array.IndexOf(header, "publish")]);
        Assert.Equal(ohemIteration, report.Runs[0].Run.Times.Iteration, 9); // the log's iteration_seconds, as written
    }

    /// <summary>The cells of the first markdown table row whose first cell is <paramref name="first"/>.</summary>
    private static string[] Row(string markdown, string first, string? after = null)
    {
        var from = after is null ? 0 : markdown.IndexOf(after, StringComparison.Ordinal);
        foreach (var line in markdown[from..].Split('\n'))
        {
            if (!line.StartsWith('|'))
            {
                continue;
            }

            var cells = line.Trim().Trim('|').Split(" | ").Select(c => c.Trim()).ToArray();
            if (cells[0] == first)
            {
                return cells;
            }
        }

        throw new Xunit.Sdk.XunitException($"no table row starts with '{first}' in:\n{markdown}");
    }

    private static JsonElement[] ReadLog(string folder) =>
        [.. File.ReadAllLines(Path.Combine(folder, TrainingRun.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement)];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
}
