namespace Ohem.Trainer.Evaluation;

/// <summary>How network outputs become detections (py-faster-rcnn's test defaults).</summary>
public sealed record DetectionOptions
{
    /// <summary>A (RoI, class) pair is a candidate when its softmax probability is above this.</summary>
    public float ScoreThreshold { get; init; } = 0.05f;

    /// <summary>Per-class NMS suppresses a candidate whose IoU with a kept box of its class is above this.</summary>
    public float NmsIou { get; init; } = 0.3f;

    /// <summary>Detections kept per image after NMS, highest scores first.</summary>
    public int MaxPerImage { get; init; } = 100;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        if (!(ScoreThreshold is >= 0f and < 1f))
        {
            throw new ArgumentException($"DetectionOptions.ScoreThreshold is {ScoreThreshold}; expected in [0, 1).", nameof(ScoreThreshold));
        }

        if (!(NmsIou is >= 0f and <= 1f))
        {
            throw new ArgumentException($"DetectionOptions.NmsIou is {NmsIou}; expected in [0, 1].", nameof(NmsIou));
        }

        if (MaxPerImage < 1)
        {
            throw new ArgumentException($"DetectionOptions.MaxPerImage is {MaxPerImage}; expected >= 1.", nameof(MaxPerImage));
        }
    }
}
