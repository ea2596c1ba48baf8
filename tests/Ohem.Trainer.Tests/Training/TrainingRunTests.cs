using System.Diagnostics;
using System.Text.Json;
using Ohem.Onnx.Scoring;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Tests.Support;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Training;

/// <summary>The training loop end to end on a tiny configuration (real data, real libtorch).</summary>
[Collection(LibtorchThreads.Name)]
public sealed class TrainingRunTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ohem-train-{Guid.NewGuid():N}");

    [NeedsFact(Needs.FashionMnist)]
    public void Ohem_run_logs_every_step_scores_every_batch_and_saves_a_loadable_scoring_model()
    {
        var options = TinyRun.Options(_root, "ohem");
        var summary = TrainingRun.Run(options);

        var lines = ReadLog(options.Output);
        Assert.Equal(Enumerable.Range(1, 6), lines.Select(l => l.GetProperty("step").GetInt32()));
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Number, l.GetProperty("loss_all").ValueKind));
        Assert.All(lines, l => Assert.InRange(l.GetProperty("selected").GetInt32(), 1, 128));
        Assert.All(lines[..^1], l => Assert.Equal(JsonValueKind.Null, l.GetProperty("val_map").ValueKind));
        Assert.InRange(lines[^1].GetProperty("val_map").GetDouble(), 0, 1);
        Assert.Equal(summary.Validation.MeanAp, lines[^1].GetProperty("val_map").GetSingle());

        // The head as the miner would load it: same weight names and shapes as the detector's head.
        var model = ScoringModel.Load(File.ReadAllBytes(Path.Combine(options.Output, TrainingRun.ScoringModelFile)), 10);
        using var detector = Detector.Create(TrainingRun.ReadRunFile(options.Output).Detector);
        var head = detector.HeadWeights();
        Assert.Equal(head.Keys.Order(), model.Weights.Select(w => w.Name).Order());
        Assert.All(model.Weights, w => Assert.Equal(head[w.Name].Length, w.ElementCount));
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Fgbg_run_scores_all_rois_only_on_probe_steps_and_keeps_a_quarter_foreground()
    {
        var options = TinyRun.Options(_root, "fgbg");
        TrainingRun.Run(options);
        var lines = ReadLog(options.Output);
        foreach (var line in lines)
        {
            var step = line.GetProperty("step").GetInt32();
            var probed = step == 1 || step % options.ProbeEvery == 0;
            Assert.Equal(probed ? JsonValueKind.Number : JsonValueKind.Null, line.GetProperty("loss_all").ValueKind);
            Assert.Equal(probed, line.GetProperty("seconds").GetProperty("probe").GetDouble() > 0);
            Assert.Equal(128, line.GetProperty("selected").GetInt32());
            Assert.Equal(0.25, line.GetProperty("fg_fraction").GetDouble(), 2);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void A_checkpoint_reloads_to_the_same_validation_map()
    {
        var options = TinyRun.Options(_root, "topk");
        var summary = TrainingRun.Run(options);
        using var detector = Detector.Create(TrainingRun.ReadRunFile(options.Output).Detector);
        detector.Load(Path.Combine(options.Output, TrainingRun.CheckpointFile));
        var validation = DetectionDataset.Create(DetectionSplit.Validation, options.ValidationImages, options.Seed, proposals: options.Proposals);
        Assert.Equal(summary.Validation.MeanAp, Validation.Evaluate(detector, validation).MeanAp);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Pretrain_writes_backbone_weights_that_a_run_starts_from()
    {
        var (code, stderr) = RunCli(
            "pretrain", "--steps", "3", "--batch-size", "8", "--val-images", "16", "--seed", "2", "--threads", "1", "--backbone-channels", "8", "16", "--out", Path.Combine(_root, "pretrain"));
        Assert.True(code == 0, stderr);
        var weights = Path.Combine(_root, "pretrain", BackbonePretraining.WeightsFile);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "pretrain", BackbonePretraining.SummaryFile)));
        Assert.InRange(summary.RootElement.GetProperty("Accuracy").GetDouble(), 0, 1);

        // A zero learning rate leaves the parameters where the run started: the pretrained backbone.
        var options = TinyRun.Options(_root, "ohem") with { BackboneWeights = weights, LearningRate = 1e-30f, Steps = 1 };
        TrainingRun.Run(options);
        using var detector = Detector.Create(TrainingRun.ReadRunFile(options.Output).Detector);
        detector.Load(Path.Combine(options.Output, TrainingRun.CheckpointFile));
        foreach (var (info, values) in BackboneWeights.Load(weights))
        {
            Assert.Equal(values, detector.Parameter(info.Name), (a, b) => Math.Abs(a - b) <= 1e-6f * Math.Max(1f, Math.Abs(a)));
        }

        // A backbone of another shape is a usage error naming the parameter.
        (code, stderr) = RunCli("train", "--backbone-weights", weights, "--backbone-channels", "8", "8", "8", "--steps", "1", "--out", Path.Combine(_root, "wrong"));
        Assert.Equal(2, code);
        Assert.Contains("backbone.conv2.weight [16, 8, 3, 3]", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Cli_rejects_bad_input_with_one_line_and_exit_code_2()
    {
        var (code, stderr) = RunCli("train", "--sampler", "nope", "--out", Path.Combine(_root, "x"));
        Assert.Equal(2, code);
        Assert.Contains("Unknown selection policy 'nope'", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));

        (code, stderr) = RunCli("eval", "--run", Path.Combine(_root, "missing"));
        Assert.Equal(2, code);
        Assert.Contains("run.json does not exist", stderr, StringComparison.Ordinal);

        (code, stderr) = RunCli("train", "--rois-per-batch", "127");
        Assert.Equal(2, code);
        Assert.Contains("--rois-per-batch", stderr, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static JsonElement[] ReadLog(string folder) =>
        [.. File.ReadAllLines(Path.Combine(folder, TrainingRun.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement)];

    private static (int Code, string Stderr) RunCli(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Ohem.Trainer.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stderr.Result);
    }
}
