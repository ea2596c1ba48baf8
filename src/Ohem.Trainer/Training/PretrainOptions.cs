using Ohem.Torch;

namespace Ohem.Trainer.Training;

/// <summary>
/// The backbone's classification pretraining (<see cref="BackbonePretraining"/>): the stand-in for
/// the paper's ImageNet start, on the bundled Fashion-MNIST items.
/// </summary>
public sealed record PretrainOptions
{
    /// <summary>SGD iterations.</summary>
    public int Steps { get; init; } = 1000;

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Peak learning rate (warm-up over the first 5% of the steps, a tenth after 75%).</summary>
    public float LearningRate { get; init; } = 0.05f;

    /// <summary>Seeds the images and the initialisation.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>libtorch's intra-op threads.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Held-out images the accuracy is measured on.</summary>
    public int ValidationImages { get; init; } = 2000;

    /// <summary>The output folder: backbone.weights and pretrain.json.</summary>
    public string Output { get; init; } = "runs/pretrain";

    /// <summary>The backbone's shape: it must be the detector's (train --backbone-channels, --stride).</summary>
    public DetectorOptions Detector { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad option.</summary>
    public void Validate()
    {
        Positive(Steps, "--steps");
        Positive(BatchSize, "--batch-size");
        Positive(Threads, "--threads");
        Positive(ValidationImages, "--val-images");
        if (!(LearningRate > 0f) || !float.IsFinite(LearningRate))
        {
            throw new ArgumentException($"--lr is {LearningRate}; expected a finite number > 0.", nameof(LearningRate));
        }

        Detector.Validate();
    }

    /// <summary>The learning rate at a 1-based step.</summary>
    public float LearningRateAt(int step)
    {
        var warmup = Math.Max(1, Steps / 20);
        if (step <= warmup)
        {
            return LearningRate * (0.1f + (0.9f * step / warmup));
        }

        return step > 0.75f * Steps ? LearningRate * 0.1f : LearningRate;
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentException($"{name} is {value}; expected at least 1.", name);
        }
    }
}
