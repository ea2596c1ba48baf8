using System.CommandLine;
using System.Globalization;
using Ohem.Core.Selection;
using Ohem.Onnx;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Reference;
using Ohem.Torch;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>
/// One training iteration of the trainer's engine (Ohem.Torch on TorchSharp, default detector on 2
/// images of 128x128, ~2,000 proposals each), three ways in the same run: (a) forward + backward
/// of the head on all RoIs (what "zero the loss of the easy RoIs" costs), (b) OHEM as the service
/// does it: the exported head scores all RoIs on ONNX Runtime (read-only), OHEM selection keeps
/// 64 per image, forward + backward on those 128, (c) forward + backward on 128 random RoIs (the
/// fgbg baseline's cost). Each includes the backbone forward and backward and the SGD step. Beside
/// them: the backbone's forward alone, and TorchSharp's inference over all RoIs against ONNX Runtime's on the exported model.
/// </summary>
internal static class TrainerBenchmark
{
    public static Command Command()
    {
        var threads = new Option<int[]>("--threads") { Description = "Thread counts to run at.", DefaultValueFactory = _ => [1, 2], AllowMultipleArgumentsPerToken = true };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (median reported).", DefaultValueFactory = _ => 7 };
        var perImage = new Option<int>("--rois") { Description = "Proposals per image.", DefaultValueFactory = _ => 2000 };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the table as Markdown here." };
        var command = new Command("trainer", "Training iteration: head on all RoIs vs OHEM (ONNX Runtime scoring + 128) vs 128 random.") { threads, repeats, perImage, markdown };
        command.SetAction(r => Run(r.GetValue(threads)!, r.GetValue(repeats), r.GetValue(perImage), r.GetValue(markdown)));
        return command;
    }

    private const int Images = 2, Size = 128, Budget = 128;

    private sealed record Row(int Threads, double Backbone, double All, double Ohem, double Random, double OhemScoring, double InferHead, double OrtScoring);

    private sealed record Batch(float[] Images, float[] Rois, int[] Labels, float[] Targets, ImageRoiSet[] PerImage);

    private static int Run(int[] threadCounts, int repeats, int perImage, FileInfo? markdown)
    {
        var options = new DetectorOptions();
        var batch = MakeBatch(options, perImage, seed: 3);
        var rows = new List<Row>();
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).Start(ctx =>
        {
            foreach (var t in threadCounts)
            {
                var task = ctx.AddTask($"trainer iteration at {t} thread(s)", maxValue: 6);
                TorchRuntime.SetThreads(t);
                using var detector = Detector.Create(options);
                var spec = new RoiHeadSpec(options.FeatureChannels, options.PooledSize, options.PooledSize, options.SpatialScale, options.HiddenSizes, options.NumClasses);
                var weights = detector.HeadWeights();
                using var store = new WeightsVersionStore(ScoringModel.Load(RoiHeadExporter.Export(spec, weights)), sessionOptions: new OnnxSessionOptions { IntraOpThreads = t });
                store.Install(1, weights);
                var scorer = new RoiScorer(store);
                var selector = new OhemSelector(new OhemOptions { Budget = Budget / Images });
                var random = new Random(5);
                var total = batch.Labels.Length;
                var loss = new float[total];
                var features = new float[Images * options.FeatureChannels * (Size / options.Stride) * (Size / options.Stride)];

                var backbone = Measure.MedianSeconds(() =>
                {
                    using var maps = detector.Backbone(batch.Images, Images, Size, Size);
                }, repeats);
                task.Increment(1);

                // A zero learning rate keeps the weights (and so every iteration) the same; the step still runs.
                var all = Measure.MedianSeconds(() =>
                {
                    using var maps = detector.Backbone(batch.Images, Images, Size, Size);
                    detector.TrainHead(maps, batch.Rois, batch.Labels, batch.Targets, [], loss);
                    detector.Step(0f);
                }, repeats);
                task.Increment(1);

                var scoring = new List<double>();
                var ohem = Measure.MedianSeconds(() =>
                {
                    using var maps = detector.Backbone(batch.Images, Images, Size, Size);
                    var start = System.Diagnostics.Stopwatch.GetTimestamp();
                    maps.CopyTo(features); // what the trainer sends to the miner
                    var scored = scorer.Score(new ScoringBatch(features, (Images, maps.Channels, maps.Height, maps.Width), batch.PerImage));
                    var picked = new List<int>(Budget);
                    var offset = 0;
                    for (var i = 0; i < Images; i++)
                    {
                        var image = batch.PerImage[i];
                        var selection = selector.Select(new ImageRois(image.Boxes, scored.Losses[i], image.Labels));
                        picked.AddRange(selection.Indices.Select(j => offset + j));
                        offset += image.Count;
                    }

                    scoring.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
                    Train(detector, maps, batch, [.. picked]);
                }, repeats);
                task.Increment(1);

                var baseline = Measure.MedianSeconds(() =>
                {
                    using var maps = detector.Backbone(batch.Images, Images, Size, Size);
                    var picked = Enumerable.Range(0, Images).SelectMany(i => Enumerable.Range(0, Budget / Images).Select(_ => (i * perImage) + random.Next(perImage)));
                    Train(detector, maps, batch, [.. picked]);
                }, repeats);
                task.Increment(1);

                using var fixedMaps = detector.Backbone(batch.Images, Images, Size, Size);
                fixedMaps.CopyTo(features);
                var cls = new float[total * (options.NumClasses + 1)];
                var box = new float[total * 4 * (options.NumClasses + 1)];
                var infer = Measure.MedianSeconds(() => detector.InferHead(fixedMaps, batch.Rois, cls, box), repeats);
                task.Increment(1);
                var fixedBatch = new ScoringBatch(features, (Images, fixedMaps.Channels, fixedMaps.Height, fixedMaps.Width), batch.PerImage);
                var ort = Measure.MedianSeconds(() => scorer.Score(fixedBatch), repeats);
                task.Increment(1);
                rows.Add(new Row(t, backbone, all, ohem, baseline, scoring.Order().ElementAt(scoring.Count / 2), infer, ort));
            }
        });

        Print(rows, batch.Labels.Length, markdown);
        return 0;
    }

    private static void Train(Detector detector, FeatureMaps maps, Batch batch, int[] picked)
    {
        var rois = new float[5 * picked.Length];
        var labels = new int[picked.Length];
        var targets = new float[4 * picked.Length];
        for (var k = 0; k < picked.Length; k++)
        {
            batch.Rois.AsSpan(5 * picked[k], 5).CopyTo(rois.AsSpan(5 * k));
            labels[k] = batch.Labels[picked[k]];
            batch.Targets.AsSpan(4 * picked[k], 4).CopyTo(targets.AsSpan(4 * k));
        }

        detector.TrainHead(maps, rois, labels, targets, [], new float[picked.Length]);
        detector.Step(0f);
    }

    private static void Print(List<Row> rows, int total, FileInfo? markdown)
    {
        string Ms(double seconds) => (seconds * 1e3).ToString("0.0", CultureInfo.InvariantCulture);
        string Ratio(double a, double b) => (a / b).ToString("0.00", CultureInfo.InvariantCulture) + "x";
        var headers = new[]
        {
            "threads", "backbone fwd (ms)", "(a) all RoIs (ms)", "(b) OHEM (ms)", "of which scoring (ms)", "(c) 128 random (ms)",
            "(a)/(c)", "(b)/(c)", "(a)/(b)", "TorchSharp infer all (ms)", "ORT scoring all (ms)", "TorchSharp/ORT",
        };
        var table = new Table().Title(Markup.Escape($"Trainer iteration, default detector, {Images} x {Size}x{Size} images, {total:N0} RoIs, budget {Budget}"));
        foreach (var h in headers)
        {
            table.AddColumn(h);
        }

        var md = new System.Text.StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", headers)} |");
        md.AppendLine($"|{string.Concat(Enumerable.Repeat("---:|", headers.Length))}");
        foreach (var r in rows)
        {
            string[] cells =
            [
                r.Threads.ToString(CultureInfo.InvariantCulture), Ms(r.Backbone), Ms(r.All), Ms(r.Ohem), Ms(r.OhemScoring), Ms(r.Random),
                Ratio(r.All, r.Random), Ratio(r.Ohem, r.Random), Ratio(r.All, r.Ohem), Ms(r.InferHead), Ms(r.OrtScoring), Ratio(r.InferHead, r.OrtScoring),
            ];
            table.AddRow(cells);
            md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", cells)} |");
        }

        AnsiConsole.Write(table);
        Console.WriteLine();
        Console.Write(md);
        Console.WriteLine("(a) backbone + head forward/backward on every RoI + step; (b) backbone, features to ONNX Runtime scoring of every RoI "
            + "(exported head, host RoI pooling), OHEM selection (NMS 0.7, 64 per image), head forward/backward on the 128 + step; "
            + "(c) backbone + head forward/backward on 128 random RoIs + step. ORT scoring includes the per-RoI loss.");
        if (markdown is not null)
        {
            File.WriteAllText(markdown.FullName, md.ToString());
        }
    }

    /// <summary>Random images and proposal-like RoIs (a quarter foreground, random box targets).</summary>
    private static Batch MakeBatch(DetectorOptions options, int perImage, int seed)
    {
        var rng = new Random(seed);
        var images = new float[Images * options.InputChannels * Size * Size];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = rng.NextSingle();
        }

        var rois = new List<float>();
        var labels = new List<int>();
        var targets = new List<float>();
        var sets = new ImageRoiSet[Images];
        for (var i = 0; i < Images; i++)
        {
            var (boxes, _) = SyntheticProposals.Generate(perImage, seed + i, width: Size, height: Size, objects: 4);
            var own = Enumerable.Range(0, perImage).Select(_ => rng.Next(4) == 0 ? rng.Next(1, options.NumClasses + 1) : 0).ToArray();
            var deltas = Enumerable.Range(0, 4 * perImage).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            for (var r = 0; r < perImage; r++)
            {
                rois.AddRange([i, boxes[4 * r], boxes[4 * r + 1], boxes[4 * r + 2], boxes[4 * r + 3]]);
            }

            labels.AddRange(own);
            targets.AddRange(deltas);
            sets[i] = new ImageRoiSet(boxes, own, deltas);
        }

        return new Batch(images, [.. rois], [.. labels], [.. targets], sets);
    }
}
