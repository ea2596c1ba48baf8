using System.CommandLine;
using System.Globalization;
using Ohem.Trainer.Training;
using Spectre.Console;

namespace Ohem.Trainer.Cli;

/// <summary><c>pretrain</c>: the backbone's classification pretraining, for <c>train --backbone-weights</c>.</summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var d = new PretrainOptions();
        var dd = d.Detector;
        var steps = new Option<int>("--steps") { Description = "SGD iterations.", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch-size") { Description = "Images per batch.", DefaultValueFactory = _ => d.BatchSize };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => d.LearningRate };
        var seed = new Option<int>("--seed") { Description = "Seed of the images and the initialisation.", DefaultValueFactory = _ => d.Seed };
        var threads = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => d.Threads };
        var valImages = new Option<int>("--val-images") { Description = "Held-out images for the accuracy.", DefaultValueFactory = _ => d.ValidationImages };
        var backbone = new Option<int[]>("--backbone-channels") { Description = "Channels of the backbone's 3x3 convs (as train's).", DefaultValueFactory = _ => [.. dd.BackboneChannels], AllowMultipleArgumentsPerToken = true };
        var stride = new Option<int>("--stride") { Description = "Backbone stride (as train's).", DefaultValueFactory = _ => dd.Stride };
        var output = new Option<string>("--out") { Description = "Output folder (backbone.weights, pretrain.json).", DefaultValueFactory = _ => d.Output };
        var command = new Command("pretrain", "Pretrain the backbone as a classifier of the bundled items (the stand-in for ImageNet); train --backbone-weights starts from it.")
        {
            steps, batch, lr, seed, threads, valImages, backbone, stride, output,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var options = new PretrainOptions
            {
                Steps = r.GetValue(steps),
                BatchSize = r.GetValue(batch),
                LearningRate = r.GetValue(lr),
                Seed = r.GetValue(seed),
                Threads = r.GetValue(threads),
                ValidationImages = r.GetValue(valImages),
                Output = r.GetValue(output)!,
                Detector = dd with { BackboneChannels = r.GetValue(backbone)!, Stride = r.GetValue(stride) },
            };
            options.Validate();
            PretrainSummary? summary = null;
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("pretrain: starting", maxValue: options.Steps);
                    summary = BackbonePretraining.Run(options, (step, loss) =>
                    {
                        task.Value = step;
                        if (step % 50 == 0)
                        {
                            task.Description = string.Create(CultureInfo.InvariantCulture, $"pretrain step {step}: loss {loss:F3}");
                        }
                    });
                });
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"pretrain: held-out accuracy {summary!.Accuracy:P1} ({options.ValidationImages} items), loss {summary.FinalLoss:F3}; weights at {summary.WeightsFile}"));
            return 0;
        }));
        return command;
    }
}
