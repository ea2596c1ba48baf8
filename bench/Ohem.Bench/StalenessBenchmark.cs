using System.CommandLine;
using System.Globalization;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Training;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>
/// What bounded staleness costs OHEM (issue 6). (1) Selection overlap, in process and
/// deterministic: one OHEM run as TrainingRun trains it; every 10th step, before training, the
/// same batch is selected again with the weights of one and four steps ago: the head alone over
/// the live feature maps, and head and backbone together (what a pipelined miner sees); the Jaccard
/// index of each selected RoI set against the live selection, the foreground fractions, and the
/// share of the live loss the stale selection still catches. (2) Final validation mAP of whole runs
/// through the real miner service on loopback with --max-staleness 0 and 1, beside in-process OHEM
/// with the same settings.
/// </summary>
internal static class StalenessBenchmark
{
    public static Command Command()
    {
        var steps = new Option<int>("--steps") { Description = "SGD steps per run.", DefaultValueFactory = _ => 300 };
        var seed = new Option<int>("--seed") { Description = "Seed of the data order, the network and the data.", DefaultValueFactory = _ => 1 };
        var trainImages = new Option<int>("--train-images") { Description = "Training canvases.", DefaultValueFactory = _ => 500 };
        var valImages = new Option<int>("--val-images") { Description = "Validation canvases.", DefaultValueFactory = _ => 100 };
        var threads = new Option<int>("--threads") { Description = "libtorch threads (and the miner's ONNX Runtime threads).", DefaultValueFactory = _ => 2 };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the tables and the note as Markdown here." };
        var command = new Command("staleness", "Staleness: overlap of the RoIs selected with weights 0, 1 and 4 steps old; final mAP at s = 0 and s = 1 through the miner.")
        {
            steps, seed, trainImages, valImages, threads, markdown,
        };
        command.SetAction(r =>
        {
            var options = new TrainOptions
            {
                Steps = r.GetValue(steps),
                Seed = r.GetValue(seed),
                TrainImages = r.GetValue(trainImages),
                ValidationImages = r.GetValue(valImages),
                Threads = r.GetValue(threads),
            };
            return Run(options, r.GetValue(markdown)).GetAwaiter().GetResult();
        });
        return command;
    }

    /// <summary>Overlap is sampled every this many steps, after the warm-up.</summary>
    private const int SampleEvery = 10, WarmupSteps = 20;

    /// <summary>
    /// The stale scorings compared with the live one: the head alone s steps old over today's feature
    /// maps (staleness of the miner's weights in isolation), then head and backbone both s steps old
    /// (what a pipelined miner sees: features computed before the update, scored by the head of then).
    /// </summary>
    private static readonly Variant[] Variants = [new(1, false), new(4, false), new(1, true), new(4, true)];

    private sealed record Variant(int Steps, bool Backbone)
    {
        public string Label => $"s = {Steps}, {(Backbone ? "head + backbone" : "head only")}";
    }

    /// <summary>The --max-staleness values trained through the miner service.</summary>
    private static readonly int[] ServiceStaleness = [0, 1];

    /// <summary>One sampled batch: index 0 the live selection, then one per variant: Jaccard vs live, foreground fraction, live-loss share.</summary>
    private sealed record Sample(int Step, double[] Jaccard, double[] Foreground, double[] LiveLossShare);

    private sealed record RunRow(string Mining, string MaxStaleness, float MeanAp, double IterationSeconds, int RemoteBatches, int Steps, double MeanStaleness, int Rescored);

    private static async Task<int> Run(TrainOptions options, FileInfo? markdown)
    {
        options.Validate();
        if (options.Steps < WarmupSteps + SampleEvery)
        {
            throw new ArgumentException(
                $"--steps is {options.Steps}; expected at least {WarmupSteps + SampleEvery}: a {WarmupSteps}-step warm-up, then a sample every {SampleEvery} steps.", nameof(options));
        }

        var scratch = Directory.CreateTempSubdirectory("ohem-staleness-");
        var samples = new List<Sample>();
        float overlapRunMap = float.NaN;
        var rows = new List<RunRow>();
        try
        {
            await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).StartAsync(async ctx =>
            {
                var overlap = ctx.AddTask("selection overlap (in process)", maxValue: options.Steps);
                (samples, overlapRunMap) = OverlapRun(options, () => overlap.Increment(1));
                overlap.StopTask();

                var local = ctx.AddTask("in-process OHEM", maxValue: options.Steps);
                rows.Add(Train("in process (live head)", "-", options with { Output = Path.Combine(scratch.FullName, "local") }, local));

                await using var miner = await BenchMiner.StartAsync(options.Threads);
                foreach (var s in ServiceStaleness)
                {
                    var task = ctx.AddTask($"miner service, s = {s}", maxValue: options.Steps);
                    var remote = options with
                    {
                        Miners = [miner.Address],
                        MaxStaleness = s,
                        JobId = $"staleness-s{s}",
                        Output = Path.Combine(scratch.FullName, $"miner-s{s}"),
                    };
                    rows.Add(Train("miner service (loopback)", s.ToString(CultureInfo.InvariantCulture), remote, task));
                }
            });
        }
        finally
        {
            scratch.Delete(recursive: true);
        }

        Print(options, samples, overlapRunMap, rows, markdown);
        return 0;
    }

    /// <summary>
    /// TrainingRun's in-process loop (data, backbone, OHEM, head forward/backward on the selection,
    /// SGD), keeping every parameter after each of the last 5 steps. On sampled steps the batch is
    /// also scored with stale weights. Head-only variants swap the head's tensors and score the live
    /// feature maps (SetParameter on a head tensor leaves the backbone version alone, so those maps
    /// stay valid for training). Backbone variants also swap the backbone and recompute the maps;
    /// that bumps the backbone version, so after the live weights are restored the maps are computed
    /// once more for training. Every restore is bit for bit, so the run trains exactly as TrainingRun.
    /// </summary>
    private static (List<Sample> Samples, float MeanAp) OverlapRun(TrainOptions options, Action stepped)
    {
        TorchRuntime.SetThreads(options.Threads);
        var train = DetectionDataset.Create(DetectionSplit.Train, options.TrainImages, options.Seed, proposals: options.Proposals);
        var validation = DetectionDataset.Create(DetectionSplit.Validation, options.ValidationImages, options.Seed, proposals: options.Proposals);
        using var detector = Detector.Create(options.Detector with { Seed = options.Seed });
        using var miner = new InProcessMiner(detector, options.Sampler, options.SamplerOptions, options.RoisPerBatch / options.ImagesPerBatch, options.Seed);
        var order = new BatchOrder(train.Count, options.ImagesPerBatch, options.Seed);

        // Newest first: ring[s] holds the parameters after step t - 1 - s, i.e. s steps older than the live ones.
        var ring = new List<Dictionary<string, float[]>> { Snapshot(detector) };
        var oldest = Variants.Max(v => v.Steps);
        var samples = new List<Sample>();
        for (var step = 1; step <= options.Steps; step++)
        {
            var batch = TrainingBatches.Build(train, order.Next());
            var features = detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size);
            try
            {
                MinedBatch mined;
                if (step > WarmupSteps && step % SampleEvery == 0)
                {
                    var live = miner.Score(features, batch);
                    mined = miner.Select(batch, live, live.Total); // what miner.Mine returns: the run trains on it
                    var (sample, backboneChanged) = Probe(detector, miner, batch, features, live.Total, mined.Indices, ring, step);
                    samples.Add(sample);
                    if (backboneChanged)
                    {
                        features.Dispose();
                        features = detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size);
                    }
                }
                else
                {
                    mined = miner.Mine(features, batch);
                }

                TrainSelected(detector, features, batch, mined.Indices);
            }
            finally
            {
                features.Dispose();
            }

            detector.Step(options.LearningRateAt(step));
            ring.Insert(0, Snapshot(detector));
            if (ring.Count > oldest + 1)
            {
                ring.RemoveAt(ring.Count - 1);
            }

            stepped();
        }

        return (samples, Validation.Evaluate(detector, validation).MeanAp);
    }

    /// <summary>Selects on the batch with each variant's stale weights; leaves the live weights in place.</summary>
    private static (Sample Sample, bool BackboneChanged) Probe(
        Detector detector, InProcessMiner miner, TrainingBatch batch, FeatureMaps features, float[] live, int[] fresh,
        List<Dictionary<string, float[]>> ring, int step)
    {
        var freshSet = fresh.ToHashSet();
        var jaccard = new double[Variants.Length + 1];
        var foreground = new double[Variants.Length + 1];
        var share = new double[Variants.Length + 1];
        jaccard[0] = 1;
        foreground[0] = ForegroundFraction(batch, fresh);
        share[0] = 1;
        var backboneChanged = false;
        for (var k = 0; k < Variants.Length; k++)
        {
            var variant = Variants[k];
            Restore(detector, ring[variant.Steps], variant.Backbone);
            BatchLosses losses;
            if (variant.Backbone)
            {
                backboneChanged = true;
                using var stale = detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size);
                losses = miner.Score(stale, batch);
            }
            else
            {
                losses = miner.Score(features, batch);
            }

            var picked = miner.Select(batch, losses, null).Indices;
            jaccard[k + 1] = Jaccard(freshSet, picked);
            foreground[k + 1] = ForegroundFraction(batch, picked);
            share[k + 1] = LossSum(live, picked) / LossSum(live, fresh);
            Restore(detector, ring[0], variant.Backbone);
        }

        return (new Sample(step, jaccard, foreground, share), backboneChanged);
    }

    private static Dictionary<string, float[]> Snapshot(Detector detector) =>
        detector.Parameters.ToDictionary(p => p.Name, p => detector.Parameter(p.Name), StringComparer.Ordinal);

    /// <summary>Sets the head's tensors (and the backbone's when <paramref name="backbone"/>) from a snapshot.</summary>
    private static void Restore(Detector detector, Dictionary<string, float[]> snapshot, bool backbone)
    {
        foreach (var (name, values) in snapshot)
        {
            if (backbone || !name.StartsWith("backbone.", StringComparison.Ordinal))
            {
                detector.SetParameter(name, values);
            }
        }
    }

    /// <summary>TrainingRun's head pass on the selected RoIs (gathered rows, unit weights).</summary>
    private static void TrainSelected(Detector detector, FeatureMaps features, TrainingBatch batch, int[] picked)
    {
        var rois = new float[5 * picked.Length];
        var labels = new int[picked.Length];
        var targets = new float[4 * picked.Length];
        for (var i = 0; i < picked.Length; i++)
        {
            var j = picked[i];
            batch.Rois.AsSpan(5 * j, 5).CopyTo(rois.AsSpan(5 * i, 5));
            batch.Targets.AsSpan(4 * j, 4).CopyTo(targets.AsSpan(4 * i, 4));
            labels[i] = batch.Labels[j];
        }

        detector.TrainHead(features, rois, labels, targets, [], new float[picked.Length]);
    }

    private static double Jaccard(HashSet<int> a, int[] b)
    {
        var inter = b.Count(a.Contains);
        var union = a.Count + b.Length - inter;
        return union == 0 ? 1 : (double)inter / union;
    }

    private static double ForegroundFraction(TrainingBatch batch, int[] picked) =>
        picked.Length == 0 ? 0 : (double)picked.Count(i => batch.Labels[i] >= 1) / picked.Length;

    private static double LossSum(float[] losses, int[] picked) => picked.Sum(i => (double)losses[i]);

    private static RunRow Train(string mining, string staleness, TrainOptions options, ProgressTask task)
    {
        var remote = 0;
        var rescored = 0;
        double stalenessSum = 0;
        var summary = TrainingRun.Run(options, record =>
        {
            task.Increment(1);
            if (record.Mining is { Remote: true } info)
            {
                remote++;
                stalenessSum += info.Staleness;
                rescored += info.Rescored ? 1 : 0;
            }
        });
        task.StopTask();
        return new RunRow(mining, staleness, summary.Validation.MeanAp, summary.MeanIterationSeconds, remote, options.Steps, remote == 0 ? 0 : stalenessSum / remote, rescored);
    }

    private static void Print(TrainOptions options, List<Sample> samples, float overlapRunMap, List<RunRow> rows, FileInfo? markdown)
    {
        static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var md = new System.Text.StringBuilder();
        var settings = $"{options.Steps} steps, seed {options.Seed}, {options.TrainImages} train / {options.ValidationImages} val canvases, "
            + $"{options.Threads} thread(s), N = {options.ImagesPerBatch}, B = {options.RoisPerBatch}";

        string[] overlapHeaders = ["stale weights", "Jaccard vs s = 0, mean", "min", "batches with J >= 0.8", "fg fraction of the selection", "live loss caught"];
        var overlapRows = new List<string[]>();
        for (var k = 0; k <= Variants.Length; k++)
        {
            var j = samples.Select(x => x.Jaccard[k]).ToArray();
            overlapRows.Add(
            [
                k == 0 ? "s = 0 (live)" : Variants[k - 1].Label,
                k == 0 ? "1 (itself)" : F(j.Average(), "0.000"),
                k == 0 ? "-" : F(j.Min(), "0.000"),
                k == 0 ? "-" : F((double)j.Count(v => v >= 0.8) / j.Length, "0%"),
                F(samples.Average(x => x.Foreground[k]), "0.0%"),
                F(samples.Average(x => x.LiveLossShare[k]), "0.00%"),
            ]);
        }

        Emit($"Selection overlap on the same batches ({samples.Count} batches: every {SampleEvery}th step after step {WarmupSteps}; {settings})",
            overlapHeaders, overlapRows, md);

        string[] runHeaders = ["mining", "max staleness s", "val mAP", "mean iteration (ms)", "batches mined by the miner", "mean observed staleness", "rescored"];
        var runRows = rows.Select(r => new[]
        {
            r.Mining, r.MaxStaleness, F(r.MeanAp, "0.0000"), F(r.IterationSeconds * 1e3, "0.0"),
            r.MaxStaleness == "-" ? "-" : $"{r.RemoteBatches}/{r.Steps}",
            r.MaxStaleness == "-" ? "-" : F(r.MeanStaleness, "0.00"),
            r.MaxStaleness == "-" ? "-" : r.Rescored.ToString(CultureInfo.InvariantCulture),
        }).ToList();
        Emit($"Final validation mAP (VOC AP@0.5), OHEM ({settings})", runHeaders, runRows, md);

        var inProcess = rows.FirstOrDefault(r => r.MaxStaleness == "-");
        var note =
            $"Part 1 trains one OHEM run in process exactly as `TrainingRun` does (batch order, backbone, OHEM with NMS 0.7 and "
            + $"{options.RoisPerBatch / options.ImagesPerBatch} RoIs per image, head forward/backward on the selection, SGD). Every "
            + $"{SampleEvery}th step after step {WarmupSteps}, before training, OHEM selects again on the same batch with stale weights: "
            + "\"head only\" scores the live feature maps with the head of s steps before (head tensors swapped with "
            + "`Detector.SetParameter`, which leaves the backbone version and so the feature maps valid); \"head + backbone\" also "
            + "recomputes the feature maps with the backbone of s steps before, as a pipelined miner at staleness s sees them (the "
            + "maps are then computed once more with the live backbone for training). The live weights are restored bit for bit before "
            + "training. The Jaccard index compares each stale selection's RoI set with the live one over both images of the batch. "
            + "\"Live loss caught\" is the live network's loss summed over the stale selection, as a share of that sum over the live "
            + "selection (how much of the hardness a stale miner still finds): when it stays near 100% while the Jaccard index drops, "
            + "the stale weights only swapped RoIs of (nearly) equal live loss, such as the plateau of background RoIs over empty canvas "
            + "that fills the tail of the selection. Part 2 trains whole runs with `TrainingRun.Run` through the miner service on "
            + "loopback (`MinerHost`, ONNX Runtime scoring, a weights version published per step) at --max-staleness 0 and 1, and in "
            + "process, all with the same seed and batches; mAP is on the validation canvases after the last step; iteration time is "
            + "the mean over steps after the first 10 (miner and trainer share the same cores, which other jobs may share too). The "
            + $"overlap run's own final mAP is {F(overlapRunMap, "0.0000")}"
            + (inProcess is null ? ". " : $" (the in-process row: {F(inProcess.MeanAp, "0.0000")}; equal when the probing left training untouched). ")
            + "Miner s = 0 scores with the trainer's exact weights (ONNX Runtime instead of libtorch, so near-ties may select differently): "
            + "its gap to the in-process row is a floor for run-to-run noise, one seed being one sample.";
        md.AppendLine(note);
        Console.WriteLine(note);
        if (markdown is not null)
        {
            File.WriteAllText(markdown.FullName, md.ToString());
        }
    }

    private static void Emit(string title, string[] headers, List<string[]> rows, System.Text.StringBuilder md)
    {
        var table = new Table().Title(Markup.Escape(title));
        foreach (var h in headers)
        {
            table.AddColumn(Markup.Escape(h));
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"**{title}**");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", headers)} |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", headers.Length - 1)));
        foreach (var row in rows)
        {
            table.AddRow(row.Select(Markup.Escape).ToArray());
            md.AppendLine(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row)} |");
        }

        md.AppendLine();
        AnsiConsole.Write(table);
        Console.WriteLine();
    }
}
