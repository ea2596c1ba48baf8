using System.CommandLine;
using System.Globalization;
using Ohem.Core.Selection;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Training;
using Spectre.Console;

namespace Ohem.Trainer.Cli;

/// <summary><c>train</c>: one training run with a progress bar; prints the validation mAP and the run folder.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var d = new TrainOptions();
        var sampler = new Option<string>("--sampler") { Description = $"Selection policy: {string.Join(" | ", SelectionPolicies.Names)}.", DefaultValueFactory = _ => d.Sampler };
        var samplerOptions = new Option<string[]>("--sampler-option") { Description = "Policy option key=value (camelCase keys, e.g. iouThreshold=0.7); repeatable.", AllowMultipleArgumentsPerToken = true };
        var steps = new Option<int>("--steps") { Description = "SGD iterations.", DefaultValueFactory = _ => d.Steps };
        var images = new Option<int>("--images-per-batch") { Description = "N, canvases per batch.", DefaultValueFactory = _ => d.ImagesPerBatch };
        var rois = new Option<int>("--rois-per-batch") { Description = "B, RoIs trained on per batch.", DefaultValueFactory = _ => d.RoisPerBatch };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => d.LearningRate };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => d.WarmupSteps };
        var decayAt = new Option<float>("--decay-at") { Description = "Fraction of the steps after which the rate drops 10x.", DefaultValueFactory = _ => d.DecayAt };
        var seed = new Option<int>("--seed") { Description = "Seed of data, initialisation and sampling.", DefaultValueFactory = _ => d.Seed };
        var threads = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => d.Threads };
        var trainImages = new Option<int>("--train-images") { Description = "Training canvases.", DefaultValueFactory = _ => d.TrainImages };
        var valImages = new Option<int>("--val-images") { Description = "Validation canvases.", DefaultValueFactory = _ => d.ValidationImages };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation mAP every this many steps (0: at the end only).", DefaultValueFactory = _ => d.EvalEvery };
        var probeEvery = new Option<int>("--probe-every") { Description = "Score all RoIs for the log every this many steps when the policy does not.", DefaultValueFactory = _ => d.ProbeEvery };
        var dd = d.Detector;
        var backbone = new Option<int[]>("--backbone-channels") { Description = "Channels of the backbone's 3x3 convs.", DefaultValueFactory = _ => [.. dd.BackboneChannels], AllowMultipleArgumentsPerToken = true };
        var stride = new Option<int>("--stride") { Description = "Backbone stride (a 2x2 max pool after each of the first log2(stride) convs).", DefaultValueFactory = _ => dd.Stride };
        var pooled = new Option<int>("--pooled-size") { Description = "RoI pooling bins per side.", DefaultValueFactory = _ => dd.PooledSize };
        var hidden = new Option<int[]>("--hidden") { Description = "Widths of the head's fully connected layers.", DefaultValueFactory = _ => [.. dd.HiddenSizes], AllowMultipleArgumentsPerToken = true };
        var objectFraction = new Option<float>("--object-proposals") { Description = "Share of the proposals jittered around objects (the rest: around distractors and random).", DefaultValueFactory = _ => d.Proposals.ObjectFraction };
        var miners = new Option<string?>("--miner") { Description = "Mine through the miner service: http://host:port[,more], or dns:///name:port for every replica behind a name; omitted: in process." };
        var staleness = new Option<int>("--max-staleness") { Description = "With --miner: scorings at most this many versions old are used (0: synchronous, the paper's; 1: batch t + 1 scored while batch t trains).", DefaultValueFactory = _ => d.MaxStaleness };
        var publishEvery = new Option<int>("--publish-every") { Description = "With --miner: publish the head's weights every this many steps.", DefaultValueFactory = _ => d.PublishEvery };
        var job = new Option<string?>("--job") { Description = "With --miner: the job id (default: from the run folder's name)." };
        var rank = new Option<int>("--rank") { Description = "With --miner: rank 0 registers and publishes; other ranks only mine.", DefaultValueFactory = _ => d.Rank };
        var token = new Option<string?>("--miner-token") { Description = "With --miner: bearer token for registering and publishing (or OHEM_MINER_TOKEN)." };
        var probe = new Option<double>("--miner-probe-seconds") { Description = "With --miner: while the miner is down, try it again this often (seconds).", DefaultValueFactory = _ => d.MinerProbeSeconds };
        var output = new Option<string>("--out") { Description = "Run folder.", DefaultValueFactory = _ => d.Output };
        var backboneWeights = new Option<string?>("--backbone-weights") { Description = "Start the backbone from these weights (pretrain's backbone.weights); omitted: from scratch." };

        var command = new Command("train", "Train the detector on the bundled data with a selection policy.")
        {
            sampler, samplerOptions, steps, images, rois, lr, warmup, decayAt, seed, threads, trainImages, valImages, evalEvery, probeEvery, backbone, stride, pooled, hidden, objectFraction, miners, staleness, publishEvery, job, rank, token, probe, output, backboneWeights,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var options = new TrainOptions
            {
                Sampler = r.GetValue(sampler)!,
                SamplerOptions = ParsePairs(r.GetValue(samplerOptions) ?? []),
                Steps = r.GetValue(steps),
                ImagesPerBatch = r.GetValue(images),
                RoisPerBatch = r.GetValue(rois),
                LearningRate = r.GetValue(lr),
                WarmupSteps = r.GetValue(warmup),
                DecayAt = r.GetValue(decayAt),
                Seed = r.GetValue(seed),
                Threads = r.GetValue(threads),
                TrainImages = r.GetValue(trainImages),
                ValidationImages = r.GetValue(valImages),
                EvalEvery = r.GetValue(evalEvery),
                ProbeEvery = r.GetValue(probeEvery),
                Output = r.GetValue(output)!,
                BackboneWeights = r.GetValue(backboneWeights),
                Miners = (r.GetValue(miners) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                MaxStaleness = r.GetValue(staleness),
                PublishEvery = r.GetValue(publishEvery),
                JobId = r.GetValue(job),
                Rank = r.GetValue(rank),
                MinerProbeSeconds = r.GetValue(probe),
                MinerToken = r.GetValue(token) ?? Environment.GetEnvironmentVariable("OHEM_MINER_TOKEN"),
                Proposals = d.Proposals with { ObjectFraction = r.GetValue(objectFraction) },
                Detector = dd with
                {
                    BackboneChannels = r.GetValue(backbone)!,
                    Stride = r.GetValue(stride),
                    PooledSize = r.GetValue(pooled),
                    HiddenSizes = r.GetValue(hidden)!,
                },
            };
            options.Validate();
            _ = SelectionPolicies.Create(options.Sampler, options.SamplerOptions); // fail before building data
            return Train(options);
        }));
        return command;
    }

    /// <summary>key=value pairs into a dictionary; a malformed pair names itself.</summary>
    internal static Dictionary<string, string> ParsePairs(IEnumerable<string> pairs)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--sampler-option '{pair}' is not key=value.");
            }

            result[pair[..eq]] = pair[(eq + 1)..];
        }

        return result;
    }

    private static int Train(TrainOptions options)
    {
        TrainingSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape($"{options.Sampler}: starting"), maxValue: options.Steps);
                var lossAll = float.NaN;
                summary = TrainingRun.Run(
                    options,
                    record =>
                    {
                        lossAll = record.LossAll ?? lossAll;
                        task.Value = record.Step;
                        if (record.Step % 10 != 0 && record.ValidationMap is null)
                        {
                            return; // a redirected console prints every change as a line
                        }

                        task.Description = Markup.Escape(string.Create(
                            CultureInfo.InvariantCulture,
                            $"{options.Sampler} step {record.Step}: loss sel {record.LossSelected:F3} all {lossAll:F3} fg {record.ForegroundFraction:P0}{(record.ValidationMap is { } m ? $" mAP {m:F3}" : "")}"));
                    },
                    phase => task.Description = Markup.Escape($"{options.Sampler}: {phase}"));
            });

        var result = summary!;
        var table = new Table().AddColumn("class").AddColumn(new TableColumn("AP@0.5").RightAligned());
        for (var c = 0; c < result.Validation.ApPerClass.Count; c++)
        {
            table.AddRow(Markup.Escape(FashionMnist.ClassNames[c]), result.Validation.ApPerClass[c].ToString("F3", CultureInfo.InvariantCulture));
        }

        table.AddRow("[bold]mAP[/]", $"[bold]{result.Validation.MeanAp.ToString("F3", CultureInfo.InvariantCulture)}[/]");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"{options.Sampler}: validation mAP {result.Validation.MeanAp:F3}, {result.MeanIterationSeconds * 1000:F1} ms per iteration; run folder [blue]{Path.GetFullPath(result.Output)}[/]");
        return 0;
    }
}
