using System.CommandLine;
using System.Globalization;
using Ohem.Onnx;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Reference;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>
/// The miner's scoring pass: 2 images x 2,000 RoIs over [2, 256, 38, 50] features, 7x7 RoI max
/// pooling at 1/16, two 1024-wide layers, 21 classes (about 112 GFLOP). Ours (ONNX Runtime 1.32
/// from Microsoft.ML.OnnxRuntime.Gpu.Linux, on its CPU provider, with RoI pooling on the host, and
/// with ONNX Runtime's own MaxRoiPool kernel) beside PyTorch eager on the same inputs and thread
/// count; losses compared RoI by RoI. Also the cost of installing a weights version (a session
/// built over the new weights), for this head and for the trainer's default head, which the
/// trainer's in-process mining pays once per step.
/// </summary>
internal static class ScoringBenchmark
{
    public static Command Command()
    {
        var threads = new Option<int[]>("--threads") { Description = "Thread counts to run at.", DefaultValueFactory = _ => [1, 2], AllowMultipleArgumentsPerToken = true };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (median reported).", DefaultValueFactory = _ => 3 };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the table as Markdown here." };
        var command = new Command("scoring", "RoI scoring throughput: ONNX Runtime vs PyTorch eager.") { threads, repeats, markdown };
        command.SetAction(r => Run(r.GetValue(threads)!, r.GetValue(repeats), r.GetValue(markdown)));
        return command;
    }

    private static readonly RoiHeadSpec Spec = new(256, 7, 7, 1f / 16, [1024, 1024], 20);
    private const int PerImage = 2000;

    /// <summary>The trainer's default head (Ohem.Torch's DetectorOptions): 64 channels, 7x7 at 1/4, fc 128-128, 11 classes.</summary>
    private static readonly RoiHeadSpec TrainerHead = new(64, 7, 7, 0.25f, [128, 128], 10);

    private sealed record Row(
        int Threads, double Host, double OrtPooling, double Torch, double HostOneRoi, double OrtOneRoi, double TorchOneRoi, double HostPoolShare,
        double Install, double TrainerInstall, float MaxDiff);

    private static int Run(int[] threadCounts, int repeats, FileInfo? markdown)
    {
        if (TorchReference.UnavailableReason is { } why)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]reference unavailable:[/] {why}");
            return 2;
        }

        var weights = RoiHeadExporter.RandomWeights(Spec, 1);
        var model = ScoringModel.Load(RoiHeadExporter.Export(Spec, weights));
        var trainerWeights = RoiHeadExporter.RandomWeights(TrainerHead, 2);
        var trainerModel = ScoringModel.Load(RoiHeadExporter.Export(TrainerHead, trainerWeights));
        var batch = Batch(seed: 3);
        var one = batch with
        {
            Features = batch.Features[..(256 * 38 * 50)],
            Shape = (1, 256, 38, 50),
            Images = [new ImageRoiSet(batch.Images[0].Boxes[..4], batch.Images[0].Labels[..1], batch.Images[0].BoxTargets[..4])],
        };
        var rows = new List<Row>();
        var ok = true;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).Start(ctx =>
        {
            foreach (var t in threadCounts)
            {
                var task = ctx.AddTask($"scoring at {t} thread(s)", maxValue: 3);
                using var host = Store(model, weights, new OnnxSessionOptions { IntraOpThreads = t });
                var scorer = new RoiScorer(host);
                var ours = scorer.Score(batch);
                var poolShare = ours.Timings.Pool / (ours.Timings.Pool + ours.Timings.Run);
                var hostSeconds = Measure.MedianSeconds(() => scorer.Score(batch), repeats);
                var hostOne = Measure.MedianSeconds(() => scorer.Score(one), 50);
                var install = InstallSeconds(model, weights, t);
                var trainerInstall = InstallSeconds(trainerModel, trainerWeights, t);
                task.Increment(1);
                using var ortPooling = Store(model, weights, new OnnxSessionOptions { IntraOpThreads = t, PoolRoisOnHost = false });
                var ortScorer = new RoiScorer(ortPooling);
                var ortSeconds = Measure.MedianSeconds(() => ortScorer.Score(batch), Math.Max(1, repeats - 1));
                var ortOne = Measure.MedianSeconds(() => ortScorer.Score(one), 50);
                task.Increment(1);
                var rois = batch.Images.SelectMany((image, i) => Enumerable.Range(0, image.Count)
                    .SelectMany(r => new[] { i, image.Boxes[4 * r], image.Boxes[4 * r + 1], image.Boxes[4 * r + 2], image.Boxes[4 * r + 3] })).ToArray();
                var (torchLoss, torchSeconds, torchOne) = TorchReference.Head(
                    batch.Shape, 7, 7, Spec.SpatialScale, [.. Spec.HiddenSizes], Spec.NumClasses,
                    [.. RoiHeadExporter.Weights(Spec).Select(w => weights[w.Name])], batch.Features.ToArray(), rois,
                    [.. batch.Images.SelectMany(i => i.Labels)], [.. batch.Images.SelectMany(i => i.BoxTargets)], repeats, t);
                task.Increment(1);
                var maxDiff = ours.Losses.SelectMany(l => l).Zip(torchLoss)
                    .Max(x => Math.Abs(x.First - x.Second) / Math.Max(1f, Math.Abs(x.Second)));
                ok &= maxDiff <= 1e-4f;
                rows.Add(new Row(t, hostSeconds, ortSeconds, torchSeconds, hostOne, ortOne, torchOne, poolShare, install, trainerInstall, maxDiff));
            }
        });

        var headers = new[]
        {
            "threads", "ours (s)", "ORT pooling (s)", "PyTorch (s)", "ours RoIs/s", "PyTorch RoIs/s", "speed-up", "1-RoI call ours / ORT pooling / PyTorch (ms)",
            "install a version: this head / trainer's head (ms)", "max rel. loss diff",
        };
        var table = new Table().Title(Markup.Escape($"Scoring 2 x {PerImage:N0} RoIs, [2, 256, 38, 50], 7x7 @ 1/16, fc 1024-1024, 21 classes"));
        foreach (var h in headers)
        {
            table.AddColumn(h);
        }

        var md = new System.Text.StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", headers)} |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            string[] cells =
            [
                r.Threads.ToString(CultureInfo.InvariantCulture),
                r.Host.ToString("0.000", CultureInfo.InvariantCulture),
                r.OrtPooling.ToString("0.000", CultureInfo.InvariantCulture),
                r.Torch.ToString("0.000", CultureInfo.InvariantCulture),
                (2 * PerImage / r.Host).ToString("N0", CultureInfo.InvariantCulture),
                (2 * PerImage / r.Torch).ToString("N0", CultureInfo.InvariantCulture),
                (r.Torch / r.Host).ToString("0.00", CultureInfo.InvariantCulture) + "x",
                $"{Measure.Milliseconds(r.HostOneRoi)} / {Measure.Milliseconds(r.OrtOneRoi)} / {Measure.Milliseconds(r.TorchOneRoi)}",
                $"{Measure.Milliseconds(r.Install)} / {Measure.Milliseconds(r.TrainerInstall)}",
                r.MaxDiff.ToString("0.0e0", CultureInfo.InvariantCulture),
            ];
            table.AddRow(cells);
            md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", cells)} |");
        }

        AnsiConsole.Write(table);
        Console.WriteLine();
        Console.Write(md);
        Console.WriteLine($"(host RoI pooling took {rows[0].HostPoolShare:P0} of pooling + head at {rows[0].Threads} thread(s))");
        if (markdown is not null)
        {
            File.WriteAllText(markdown.FullName, md.ToString());
        }

        return ok ? 0 : 1;
    }

    /// <summary>Median seconds to install one more version (the store keeps one, as the trainer's does).</summary>
    private static double InstallSeconds(ScoringModel model, IReadOnlyDictionary<string, float[]> weights, int threads)
    {
        using var store = new WeightsVersionStore(model, new WeightsStoreOptions { KeepVersions = 1 }, new OnnxSessionOptions { IntraOpThreads = threads });
        var sets = new[] { weights.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), weights.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()) };
        ulong version = 0;
        return Measure.MedianSeconds(() => store.Install(++version, sets[version % 2]), 15);
    }

    private static WeightsVersionStore Store(ScoringModel model, IReadOnlyDictionary<string, float[]> weights, OnnxSessionOptions options)
    {
        var store = new WeightsVersionStore(model, sessionOptions: options);
        store.Install(1, weights.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()));
        return store;
    }

    /// <summary>Two 800x608 images' worth of features (post-ReLU-like) and proposal-like RoIs.</summary>
    private static ScoringBatch Batch(int seed)
    {
        var rng = new Random(seed);
        var features = new float[2 * 256 * 38 * 50];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = MathF.Max(0f, (float)(rng.NextDouble() * 2 - 1));
        }

        var images = new ImageRoiSet[2];
        for (var i = 0; i < 2; i++)
        {
            var (boxes, _) = SyntheticProposals.Generate(PerImage, seed + i, width: 800, height: 608);
            var labels = Enumerable.Range(0, PerImage).Select(_ => rng.Next(4) == 0 ? rng.Next(1, Spec.NumClasses + 1) : 0).ToArray();
            var targets = Enumerable.Range(0, 4 * PerImage).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            images[i] = new ImageRoiSet(boxes, labels, targets);
        }

        return new ScoringBatch(features, (2, 256, 38, 50), images);
    }
}
