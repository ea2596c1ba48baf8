using System.Runtime.ExceptionServices;
using Ohem.Core.Selection;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Evaluation;
using Ohem.Trainer.Training;
using SkiaSharp;

namespace Ohem.Trainer.Reporting;

/// <summary>One run in a written report: what was read, the re-evaluated validation result, its gallery column.</summary>
/// <param name="Run">The run folder as read.</param>
/// <param name="Validation">AP per class and mAP of the checkpoint on the validation canvases.</param>
/// <param name="ValidationImages">Canvases evaluated.</param>
/// <param name="Gallery">Its policy's selection on each gallery canvas.</param>
public sealed record ReportedOutcome(ReportedRun Run, VocResult Validation, int ValidationImages, IReadOnlyList<CanvasSelection> Gallery);

/// <summary>What <see cref="RunReport.Write"/> produced.</summary>
/// <param name="Folder">The report folder (full path).</param>
/// <param name="Markdown">report.md's path.</param>
/// <param name="Runs">One outcome per run, in the order given.</param>
/// <param name="Baseline">The first fgbg run (the iteration-time baseline), or null.</param>
/// <param name="Charts">The SVG charts written.</param>
/// <param name="Gallery">gallery.png's path, or null when no gallery was drawn.</param>
public sealed record ReportResult(
    string Folder, string Markdown, IReadOnlyList<ReportedOutcome> Runs, ReportedOutcome? Baseline, IReadOnlyList<ReportChart> Charts, string? Gallery)
{
    /// <summary>Mean iteration time of <paramref name="run"/> over the baseline's, or null without a baseline.</summary>
    public double? IterationRatio(ReportedOutcome run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return Baseline is null ? null : run.Run.Times.Iteration / Baseline.Run.Times.Iteration;
    }
}

/// <summary>
/// The comparison report of finished training runs: report.md (settings, validation AP per class
/// re-evaluated from each checkpoint, time per iteration by stage and the ratio over the fgbg
/// run, mining staleness when logged), SVG training curves, and gallery.png of what each run's
/// policy selects on a few validation canvases.
/// </summary>
public static class RunReport
{
    /// <summary>File names inside a report folder.</summary>
    public const string MarkdownFile = "report.md", GalleryFile = "gallery.png";

    /// <summary>Reads <paramref name="runFolders"/> (all of them first, so a bad one fails fast) and writes the report into <paramref name="reportFolder"/>.</summary>
    /// <exception cref="ArgumentException">No run folder, a folder that does not exist, or bad extras.</exception>
    /// <exception cref="FileNotFoundException">A run lacks run.json, metrics.jsonl or checkpoint.pt.</exception>
    public static ReportResult Write(string reportFolder, IReadOnlyList<string> runFolders, ReportExtras? extras = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reportFolder);
        ArgumentNullException.ThrowIfNull(runFolders);
        extras ??= new ReportExtras();
        extras.Validate();
        if (runFolders.Count == 0)
        {
            throw new ArgumentException("runFolders is empty; expected at least one run folder written by `train`.", nameof(runFolders));
        }

        var runs = LoadRuns(runFolders);
        var folder = Path.GetFullPath(reportFolder);
        Directory.CreateDirectory(folder);
        var total = 2 + runs.Count;
        var done = 0;
        var progressLock = new Lock();
        void Report(string what)
        {
            lock (progressLock)
            {
                extras.Progress?.Invoke(new ReportProgress(what, done, total));
            }
        }

        void Done(string what)
        {
            Interlocked.Increment(ref done);
            Report(what);
        }

        Report("building validation canvases");
        var runData = ValidationSets(runs, extras.ValidationImages);
        Done($"evaluating {runs.Count} checkpoint{(runs.Count == 1 ? "" : "s")}");

        // Every column of the gallery shows the same canvases: the first run's.
        var galleryData = runData[0];
        var galleryCanvases = Math.Min(extras.GalleryCanvases, galleryData.Count);
        var outcomes = Evaluate(runs, runData, galleryData, galleryCanvases, extras.Threads, run => Done($"evaluated {run.Label}"));

        Report("writing charts, gallery and report.md");
        var charts = ReportCharts.Write(folder, runs);
        string? galleryPath = null;
        if (galleryCanvases > 0)
        {
            galleryPath = Path.Combine(folder, GalleryFile);
            using var gallery = DrawGallery(outcomes, galleryData, galleryCanvases, extras.GalleryScale);
            SelectionGallery.SavePng(gallery, galleryPath);
        }

        var baseline = outcomes.FirstOrDefault(o => o.Run.Sampler == SelectionPolicies.FgBg);
        var result = new ReportResult(folder, Path.Combine(folder, MarkdownFile), outcomes, baseline, charts, galleryPath);
        File.WriteAllText(result.Markdown, ReportMarkdown.Render(result, extras));
        Done("done");
        return result;
    }

    /// <summary>Each run's validation canvases; runs with the same seed and proposals share one set, built here once.</summary>
    private static DetectionDataset[] ValidationSets(List<ReportedRun> runs, int? images)
    {
        var datasets = new Dictionary<(int Count, int Seed, ProposalOptions Proposals), DetectionDataset>();
        var runData = new DetectionDataset[runs.Count];
        for (var r = 0; r < runs.Count; r++)
        {
            var o = runs[r].Options;
            var key = (images ?? o.ValidationImages, o.Seed, o.Proposals);
            if (!datasets.TryGetValue(key, out var data))
            {
                data = DetectionDataset.Create(DetectionSplit.Validation, key.Item1, key.Seed, proposals: key.Proposals);
                for (var i = 0; i < data.Count; i++)
                {
                    _ = data.Proposals(i); // built once here rather than raced by the parallel evaluations
                }

                datasets[key] = data;
            }

            runData[r] = data;
        }

        return runData;
    }

    /// <summary>
    /// Each run's checkpoint on its validation canvases, and its policy on the gallery's. Runs are
    /// evaluated side by side with the threads shared out: decoding and AP bookkeeping are
    /// single-threaded C#, so one run's overlaps another's libtorch work.
    /// </summary>
    private static ReportedOutcome[] Evaluate(
        List<ReportedRun> runs, DetectionDataset[] runData, DetectionDataset galleryData, int galleryCanvases, int threads, Action<ReportedRun> evaluated)
    {
        var parallel = Math.Min(runs.Count, threads);
        var previousThreads = TorchRuntime.Threads;
        TorchRuntime.SetThreads(Math.Max(1, threads / parallel));
        var outcomes = new ReportedOutcome[runs.Count];
        try
        {
            Parallel.For(0, runs.Count, new ParallelOptions { MaxDegreeOfParallelism = parallel }, r =>
            {
                var run = runs[r];
                using var detector = Detector.Create(run.Options.Detector);
                detector.Load(run.Checkpoint);
                var validation = Validation.Evaluate(detector, runData[r]);
                var gallery = Enumerable.Range(0, galleryCanvases).Select(i => SelectionGallery.Select(detector, run.Options, galleryData, i)).ToList();
                outcomes[r] = new ReportedOutcome(run, validation, runData[r].Count, gallery);
                evaluated(run);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); // the first failure as itself, not wrapped
            throw; // unreachable: Throw does not return
        }
        finally
        {
            TorchRuntime.SetThreads(previousThreads);
        }

        return outcomes;
    }

    /// <summary>A row per gallery canvas: its ground truth, then each run's selection.</summary>
    private static SKBitmap DrawGallery(IReadOnlyList<ReportedOutcome> outcomes, DetectionDataset data, int canvases, int scale)
    {
        var rows = new List<IReadOnlyList<SKBitmap>>();
        try
        {
            for (var i = 0; i < canvases; i++)
            {
                var canvas = data.Canvas(i);
                var row = new List<SKBitmap> { SelectionGallery.GroundTruthTile(canvas, scale) };
                rows.Add(row);
                row.AddRange(outcomes.Select(o => SelectionGallery.SelectionTile(canvas, o.Gallery[i], scale)));
            }

            return SelectionGallery.Compose(rows);
        }
        finally
        {
            foreach (var tile in rows.SelectMany(r => r))
            {
                tile.Dispose();
            }
        }
    }

    /// <summary>Reads every run; labels are the folders' names, numbered where two are alike.</summary>
    private static List<ReportedRun> LoadRuns(IReadOnlyList<string> runFolders)
    {
        var runs = new List<ReportedRun>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var folder in runFolders)
        {
            if (string.IsNullOrWhiteSpace(folder))
            {
                throw new ArgumentException("a run folder is empty; expected a path.", nameof(runFolders));
            }

            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
            var n = seen[name] = seen.GetValueOrDefault(name) + 1;
            runs.Add(ReportedRun.Load(folder, n == 1 ? name : $"{name} ({n})"));
        }

        return runs;
    }
}
