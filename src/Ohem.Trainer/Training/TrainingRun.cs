using System.Text.Json;
using Ohem.Client;
using Ohem.Onnx;
using Ohem.Onnx.Export;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Evaluation;
using Ohem.Trainer.Mining;

namespace Ohem.Trainer.Training;

/// <summary>What a finished run reports.</summary>
/// <param name="Output">The run folder.</param>
/// <param name="Validation">Validation AP per class and mAP after the last step.</param>
/// <param name="MeanIterationSeconds">Mean seconds per iteration (all stages but the probe), after
/// the first 10 steps (warm-up).</param>
public sealed record TrainingSummary(string Output, VocResult Validation, double MeanIterationSeconds);

/// <summary>
/// The training loop: per step, a batch of N canvases and their proposals, the backbone forward,
/// mining (the policy picks B RoIs), the head's forward and backward on those only (into the
/// backbone through the feature maps), and an SGD update. Writes the run folder: metrics.jsonl,
/// run.json (the options, to load the checkpoint again), checkpoint.pt and scoring-model.onnx (the
/// head in the miner's scoring-model contract).
/// </summary>
public static class TrainingRun
{
    private static readonly JsonSerializerOptions RunJson = new() { WriteIndented = true };

    /// <summary>File names inside a run folder.</summary>
    public const string MetricsFile = "metrics.jsonl", RunFile = "run.json", CheckpointFile = "checkpoint.pt", ScoringModelFile = "scoring-model.onnx";

    /// <summary>Trains as <paramref name="options"/> says; <paramref name="onStep"/> sees every logged record.</summary>
    public static TrainingSummary Run(TrainOptions options, Action<MetricsRecord>? onStep = null, Action<string>? onPhase = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(options.Output);
        TorchRuntime.SetThreads(options.Threads);

        onPhase?.Invoke("building data");
        var train = DetectionDataset.Create(DetectionSplit.Train, options.TrainImages, options.Seed, proposals: options.Proposals);
        var validation = DetectionDataset.Create(DetectionSplit.Validation, options.ValidationImages, options.Seed, proposals: options.Proposals);
        var detectorOptions = options.Detector with { Seed = options.Seed };
        using var detector = Detector.Create(detectorOptions);
        if (options.BackboneWeights is { } pretrained)
        {
            onPhase?.Invoke($"loading the backbone from {pretrained}");
            detector.LoadBackbone(Torch.BackboneWeights.Load(pretrained));
        }

        WriteRunFile(options with { Detector = detectorOptions });

        using var miner = new InProcessMiner(
            detector, options.Sampler, options.SamplerOptions, options.RoisPerBatch / options.ImagesPerBatch, options.Seed,
            new OnnxSessionOptions { IntraOpThreads = options.Threads });
        var order = new BatchOrder(train.Count, options.ImagesPerBatch, options.Seed);
        using IBatchSource source = options.Miners.Count == 0
            ? new LocalBatchSource(detector, miner, train, order, options.ProbeEvery)
            : ConnectMiners(options, detector, miner, train, order, onPhase);
        using var log = new MetricsLog(Path.Combine(options.Output, MetricsFile));
        var timer = new StageTimer();
        double timedSeconds = 0;
        var timedSteps = 0;

        onPhase?.Invoke("training");
        for (var step = 1; step <= options.Steps; step++)
        {
            timer.Reset();
            var lr = options.LearningRateAt(step);
            var prepared = source.Next(step, timer);
            var mined = prepared.Mined;
            float loss;
            int foreground;
            float[] perRoi;
            using (prepared.Features)
            {
                (loss, foreground, perRoi) = timer.Time(Stage.HeadForwardBackward, () => TrainSelected(detector, prepared.Features, prepared.Batch, mined));
            }

            timer.Time(Stage.Step, () => detector.Step(lr));
            source.AfterStep(step, timer);

            float? map = null;
            if (options.EvalEvery > 0 && step % options.EvalEvery == 0 && step != options.Steps)
            {
                onPhase?.Invoke($"evaluating at step {step}");
                map = Validation.Evaluate(detector, validation).MeanAp;
                onPhase?.Invoke("training");
            }

            var record = new MetricsRecord(
                step, lr, loss, mined.LossAll,
                mined.Indices.Length == 0 ? 0f : (float)foreground / mined.Indices.Length,
                mined.Indices.Length, timer, map, prepared.Mining, MinerLossGap(prepared, perRoi));
            if (step > 10)
            {
                timedSeconds += timer.IterationSeconds;
                timedSteps++;
            }

            if (step < options.Steps)
            {
                log.Write(record);
                onStep?.Invoke(record);
            }
            else
            {
                onPhase?.Invoke("final evaluation");
                var final = Validation.Evaluate(detector, validation);
                var last = record with { ValidationMap = final.MeanAp };
                log.Write(last);
                onStep?.Invoke(last);
                Save(detector, options.Output);
                return new TrainingSummary(options.Output, final, timedSteps == 0 ? 0 : timedSeconds / timedSteps);
            }
        }

        throw new InvalidOperationException("unreachable: the loop returns at its last step");
    }

    private static RemoteBatchSource ConnectMiners(
        TrainOptions options, Detector detector, InProcessMiner local, DetectionDataset train, BatchOrder order, Action<string>? onPhase)
    {
        onPhase?.Invoke($"connecting to {string.Join(", ", options.Miners)}");
        // The client's circuit stays open as long as the trainer waits between probes of a dead miner.
        var client = new MinerClientOptions
        {
            Endpoints = [.. options.Miners],
            WriteToken = options.MinerToken,
            CircuitBreakDuration = TimeSpan.FromSeconds(Math.Max(0.5, options.MinerProbeSeconds)),
        };
        var jobId = JobIdOf(options);
        var policyOptions = MiningPolicy.Options(options.Sampler, options.SamplerOptions, options.RoisPerBatch / options.ImagesPerBatch, options.Seed);
        var miner = FailoverMiner.ConnectAsync(
            client, jobId, DetectorHead.Spec(detector.Options), detector.HeadWeights(), options.Sampler, policyOptions,
            publisher: options.Rank == 0,
            options: new FailoverOptions { ProbeInterval = TimeSpan.FromSeconds(options.MinerProbeSeconds) },
            log: line => onPhase?.Invoke(line)).GetAwaiter().GetResult();
        return new RemoteBatchSource(
            detector, local, miner, train, order, options.MaxStaleness, options.PublishEvery, options.Steps, publisher: options.Rank == 0);
    }

    /// <summary>
    /// With synchronous remote mining (staleness 0) the miner scored exactly the weights and feature
    /// maps the trainer trains on: the largest relative difference between its loss and the
    /// trainer's for the selected RoIs (the contract says float32 rounding). Null otherwise.
    /// </summary>
    private static float? MinerLossGap(PreparedBatch prepared, float[] trainerLosses)
    {
        if (prepared.Mining is not { Remote: true, Staleness: 0 } || prepared.Mined.SelectedLosses is not { } minerLosses)
        {
            return null;
        }

        var gap = 0f;
        for (var i = 0; i < minerLosses.Length; i++)
        {
            gap = MathF.Max(gap, MathF.Abs(minerLosses[i] - trainerLosses[i]) / MathF.Max(1f, MathF.Abs(minerLosses[i])));
        }

        return gap;
    }

    /// <summary>The head's forward, loss and backward on the mined RoIs.</summary>
    private static (float Loss, int Foreground, float[] PerRoi) TrainSelected(Detector detector, FeatureMaps features, TrainingBatch batch, MinedBatch mined)
    {
        var n = mined.Indices.Length;
        var rois = new float[n * 5];
        var labels = new int[n];
        var targets = new float[n * 4];
        var foreground = 0;
        for (var i = 0; i < n; i++)
        {
            var j = mined.Indices[i];
            batch.Rois.AsSpan(5 * j, 5).CopyTo(rois.AsSpan(5 * i, 5));
            batch.Targets.AsSpan(4 * j, 4).CopyTo(targets.AsSpan(4 * i, 4));
            labels[i] = batch.Labels[j];
            foreground += labels[i] >= 1 ? 1 : 0;
        }

        var perRoi = new float[n];
        var loss = detector.TrainHead(features, rois, labels, targets, mined.Weights ?? [], perRoi);
        return (loss, foreground, perRoi);
    }

    /// <summary>Writes the checkpoint and the head as a scoring model.</summary>
    private static void Save(Detector detector, string output)
    {
        detector.Save(Path.Combine(output, CheckpointFile));
        File.WriteAllBytes(
            Path.Combine(output, ScoringModelFile),
            RoiHeadExporter.Export(DetectorHead.Spec(detector.Options), detector.HeadWeights()));
    }

    private static void WriteRunFile(TrainOptions options)
    {
        File.WriteAllText(Path.Combine(options.Output, RunFile), JsonSerializer.Serialize(options, RunJson));
    }

    /// <summary>The job the run mines under: --job, or one named after the run folder.</summary>
    public static string JobIdOf(TrainOptions options) =>
        options.JobId ?? $"train-{Path.GetFileName(Path.GetFullPath(options.Output).TrimEnd(Path.DirectorySeparatorChar))}";

    /// <summary>The options a run was made with, read back from its run.json.</summary>

    public static TrainOptions ReadRunFile(string runFolder)
    {
        var path = Path.Combine(runFolder, RunFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist; expected a run folder written by `train`.", path);
        }

        return JsonSerializer.Deserialize<TrainOptions>(File.ReadAllText(path), RunJson)
            ?? throw new InvalidDataException($"{path} holds no options.");
    }
}
