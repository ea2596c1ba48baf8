using Ohem.Torch;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Support;

/// <summary>Training runs small enough for a test: a tiny detector, a handful of canvases and steps.</summary>
internal static class TinyRun
{
    /// <summary>6 steps on 6 canvases in <paramref name="root"/>/<paramref name="sampler"/>, mined in process.</summary>
    public static TrainOptions Options(string root, string sampler) => new()
    {
        Sampler = sampler,
        Steps = 6,
        WarmupSteps = 2,
        TrainImages = 6,
        ValidationImages = 2,
        ProbeEvery = 2,
        Threads = 2,
        Output = Path.Combine(root, sampler),
        Detector = new DetectorOptions { BackboneChannels = [8, 16], Stride = 4, HiddenSizes = [32] },
    };

    /// <summary>12 OHEM steps on 8 canvases in <paramref name="root"/>/s<paramref name="staleness"/>, mined through <paramref name="miner"/>.</summary>
    public static TrainOptions Remote(string root, Uri miner, int staleness) => Options(root, "ohem") with
    {
        Steps = 12,
        TrainImages = 8,
        Miners = [miner.ToString()],
        MaxStaleness = staleness,
        Output = Path.Combine(root, $"s{staleness}"),
    };
}
