using System.Text.Json;
using Ohem.Torch;
using Ohem.Trainer.Data;

namespace Ohem.Trainer.Training;

/// <summary>What a pretraining reports.</summary>
/// <param name="WeightsFile">The backbone weights (train --backbone-weights).</param>
/// <param name="Accuracy">Top-1 accuracy on the held-out items after the last step.</param>
/// <param name="FinalLoss">Mean cross-entropy over the last 50 steps.</param>
public sealed record PretrainSummary(string WeightsFile, double Accuracy, double FinalLoss);

/// <summary>
/// Classification pretraining of the detector's backbone on the bundled items
/// (<see cref="ItemImages"/>, 10 classes) with cross-entropy and SGD, then the backbone's weights
/// written for <c>train --backbone-weights</c>: the paper starts from an ImageNet-trained network,
/// this is that protocol on our data.
/// </summary>
public static class BackbonePretraining
{
    /// <summary>File names inside the output folder.</summary>
    public const string WeightsFile = "backbone.weights", SummaryFile = "pretrain.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static PretrainSummary Run(PretrainOptions options, Action<int, float>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(options.Output);
        TorchRuntime.SetThreads(options.Threads);
        var detector = options.Detector with { Seed = options.Seed };
        var train = ItemImages.Create(options.Seed, heldOut: false);
        var heldOut = ItemImages.Create(options.Seed, heldOut: true);
        using var classifier = BackboneClassifier.Create(detector, DetectionDataset.NumClasses);

        const int side = ItemImages.Side;
        var pixels = new float[options.BatchSize * side * side];
        var labels = new int[options.BatchSize];
        var recent = new Queue<float>();
        for (var step = 1; step <= options.Steps; step++)
        {
            train.Fill((long)(step - 1) * options.BatchSize, pixels, labels);
            var loss = classifier.TrainStep(pixels, options.BatchSize, side, side, labels, options.LearningRateAt(step));
            recent.Enqueue(loss);
            if (recent.Count > 50)
            {
                recent.Dequeue();
            }

            onStep?.Invoke(step, loss);
        }

        var correct = 0;
        for (var first = 0; first < options.ValidationImages; first += options.BatchSize)
        {
            var count = Math.Min(options.BatchSize, options.ValidationImages - first);
            var batchLabels = labels.AsSpan(0, count);
            heldOut.Fill(first, pixels.AsSpan(0, count * side * side), batchLabels);
            var predicted = classifier.Predict(pixels.AsSpan(0, count * side * side), count, side, side);
            for (var i = 0; i < count; i++)
            {
                correct += predicted[i] == batchLabels[i] ? 1 : 0;
            }
        }

        var path = Path.Combine(options.Output, WeightsFile);
        BackboneWeights.Save(path, classifier.BackboneParameters());
        var summary = new PretrainSummary(path, (double)correct / options.ValidationImages, recent.Average());
        File.WriteAllText(
            Path.Combine(options.Output, SummaryFile),
            JsonSerializer.Serialize(new { options = options with { Detector = detector }, summary.Accuracy, summary.FinalLoss }, Json));
        return summary;
    }
}
