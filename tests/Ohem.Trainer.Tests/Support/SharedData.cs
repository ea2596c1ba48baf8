using Ohem.Trainer.Data;

namespace Ohem.Trainer.Tests.Support;

/// <summary>Datasets shared by the tests (built lazily once: canvases and proposals are cached inside).</summary>
internal static class SharedData
{
    private static readonly Lazy<DetectionDataset> TrainSet = new(() => DetectionDataset.Create(DetectionSplit.Train, 1000, seed: 11));
    private static readonly Lazy<DetectionDataset> ValidationSet = new(() => DetectionDataset.Create(DetectionSplit.Validation, 200, seed: 11));

    /// <summary>1,000 default training canvases, seed 11.</summary>
    public static DetectionDataset Train => TrainSet.Value;

    /// <summary>200 default validation canvases, seed 11.</summary>
    public static DetectionDataset Validation => ValidationSet.Value;

    /// <summary>Plain-double IoU, written independently of Ohem.Core.</summary>
    public static double Iou(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var iw = Math.Max(0.0, Math.Min((double)a[2], b[2]) - Math.Max((double)a[0], b[0]));
        var ih = Math.Max(0.0, Math.Min((double)a[3], b[3]) - Math.Max((double)a[1], b[1]));
        var inter = iw * ih;
        var union = ((double)a[2] - a[0]) * ((double)a[3] - a[1]) + ((double)b[2] - b[0]) * ((double)b[3] - b[1]) - inter;
        return union > 0 ? inter / union : 0;
    }
}
