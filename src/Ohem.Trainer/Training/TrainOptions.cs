using System.Text.Json.Serialization;
using Ohem.Torch;
using Ohem.Trainer.Data;

namespace Ohem.Trainer.Training;

/// <summary>
/// One training run's settings. Defaults are the paper's batch (N = 2 images, B = 128 RoIs) and a
/// schedule at which both OHEM and the fgbg baseline have converged on the bundled data (3,000
/// steps: measured curves in the README).
/// </summary>
public sealed record TrainOptions
{
    /// <summary>Selection policy by name (Ohem.Core's SelectionPolicies): ohem, topk, fgbg, ...</summary>
    public string Sampler { get; init; } = "ohem";

    /// <summary>Policy options (camelCase keys, as SelectionPolicies.Create reads them); the per-image
    /// budget defaults to RoisPerBatch / ImagesPerBatch.</summary>
    public IReadOnlyDictionary<string, string> SamplerOptions { get; init; } = new Dictionary<string, string>();

    /// <summary>SGD iterations.</summary>
    public int Steps { get; init; } = 3000;

    /// <summary>N: images per batch.</summary>
    public int ImagesPerBatch { get; init; } = 2;

    /// <summary>B: RoIs trained on per batch (B / N per image).</summary>
    public int RoisPerBatch { get; init; } = 128;

    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; init; } = 0.01f;

    /// <summary>Linear warm-up from LearningRate / 10 over this many steps.</summary>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>The rate is multiplied by 0.1 once this fraction of the steps is done.</summary>
    public float DecayAt { get; init; } = 0.75f;

    /// <summary>Seeds the data order, the network's initialisation and sampling policies.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>libtorch's intra-op threads.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Start the backbone from these weights (written by <c>pretrain</c>); null: from scratch.</summary>
    public string? BackboneWeights { get; init; }

    /// <summary>Training canvases (built from Fashion-MNIST's train split).</summary>
    public int TrainImages { get; init; } = 2000;

    /// <summary>Validation canvases (from t10k).</summary>
    public int ValidationImages { get; init; } = 200;

    /// <summary>Evaluate validation mAP every this many steps (0: only at the end).</summary>
    public int EvalEvery { get; init; }

    /// <summary>
    /// For policies that do not score every RoI (fgbg), score them anyway every this many steps so
    /// the log has the loss over all RoIs to compare runs by; not counted in the iteration time.
    /// </summary>
    public int ProbeEvery { get; init; } = 10;

    /// <summary>The run folder: metrics.jsonl, run.json, checkpoint.pt, scoring-model.onnx.</summary>
    public string Output { get; init; } = "runs/train";

    /// <summary>Miner service endpoints (http://host:port); empty: mine in process.</summary>
    public IReadOnlyList<string> Miners { get; init; } = [];

    /// <summary>
    /// s: a batch may be scored with head weights at most this many versions old. 0 (the default) is
    /// the paper's synchronous OHEM and trains exactly as in-process mining does; 1 scores batch t + 1
    /// while batch t trains (faster), and measured 0.010 +- 0.007 mAP lower after 3,000 steps over
    /// three seeds (-0.016, -0.011, -0.002: the selection is made by the network before the last
    /// update; README).
    /// </summary>
    public int MaxStaleness { get; init; }

    /// <summary>Publish the head's weights as a new version every this many steps.</summary>
    public int PublishEvery { get; init; } = 1;

    /// <summary>The job's id on the miners (default: derived from the run folder's name).</summary>
    public string? JobId { get; init; }

    /// <summary>This trainer's rank: rank 0 registers the model and publishes; others only mine.</summary>
    public int Rank { get; init; }

    /// <summary>While the miners are down, try them again at most this often (seconds).</summary>
    public double MinerProbeSeconds { get; init; } = 10;

    /// <summary>Bearer token for the miners' writes (registering, publishing), when they require one;
    /// never written to run.json.</summary>
    [JsonIgnore]
    public string? MinerToken { get; init; }

    /// <summary>
    /// How each canvas's proposals are drawn (training and validation alike). One in ten is
    /// jittered around an object (about 5% foreground, as with selective search), not the data
    /// default's four in ten: with a fifth of all RoIs foreground, OHEM's hardest 64 per image were
    /// nearly all foreground with large box losses and the background was never learnt (measured).
    /// </summary>
    public ProposalOptions Proposals { get; init; } = new() { ObjectFraction = 0.1f };

    /// <summary>The detector's shape and SGD settings (DetectorOptions' defaults: a stride-4 backbone
    /// of three 3x3 convs, 7x7 RoI pooling, two 128-wide layers).</summary>
    public DetectorOptions Detector { get; init; } = new();

    /// <summary>Checks every field; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        Positive(Steps, "--steps");
        Positive(ImagesPerBatch, "--images-per-batch");
        Positive(RoisPerBatch, "--rois-per-batch");
        Positive(Threads, "--threads");
        Positive(TrainImages, "--train-images");
        Positive(ValidationImages, "--val-images");
        NonNegative(WarmupSteps, "--warmup");
        NonNegative(EvalEvery, "--eval-every");
        Positive(ProbeEvery, "--probe-every");
        Positive(PublishEvery, "--publish-every");
        NonNegative(MaxStaleness, "--max-staleness");
        NonNegative(Rank, "--rank");
        if (!(MinerProbeSeconds > 0) || !double.IsFinite(MinerProbeSeconds))
        {
            throw new ArgumentException($"--miner-probe-seconds is {MinerProbeSeconds}; expected a finite number > 0.", nameof(MinerProbeSeconds));
        }
        foreach (var miner in Miners)
        {
            Ohem.Client.MinerEndpoint.Validate(miner, "--miner");
        }
        if (!(LearningRate > 0f) || !float.IsFinite(LearningRate))
        {
            throw new ArgumentException($"--lr is {LearningRate}; expected a finite number > 0.", nameof(LearningRate));
        }

        if (!(DecayAt > 0f && DecayAt <= 1f))
        {
            throw new ArgumentException($"--decay-at is {DecayAt}; expected a fraction in (0, 1].", nameof(DecayAt));
        }

        if (RoisPerBatch % ImagesPerBatch != 0)
        {
            throw new ArgumentException(
                $"--rois-per-batch {RoisPerBatch} is not a multiple of --images-per-batch {ImagesPerBatch}; expected B divisible by N.",
                nameof(RoisPerBatch));
        }
    }

    /// <summary>The learning rate at a 1-based step: warm-up, then the peak, then a tenth of it.</summary>
    public float LearningRateAt(int step)
    {
        if (step <= WarmupSteps)
        {
            return LearningRate * (0.1f + (0.9f * step / Math.Max(1, WarmupSteps)));
        }

        return step > DecayAt * Steps ? LearningRate * 0.1f : LearningRate;
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentException($"{name} is {value}; expected at least 1.", name);
        }
    }

    private static void NonNegative(int value, string name)
    {
        if (value < 0)
        {
            throw new ArgumentException($"{name} is {value}; expected at least 0.", name);
        }
    }
}
