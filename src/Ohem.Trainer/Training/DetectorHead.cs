using Ohem.Onnx.Export;
using Ohem.Torch;

namespace Ohem.Trainer.Training;

/// <summary>The detector's RoI head as the scoring-model contract describes it.</summary>
public static class DetectorHead
{
    /// <summary>The exporter's spec of <paramref name="options"/>'s head (same weight names as the trainer's).</summary>
    public static RoiHeadSpec Spec(DetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new RoiHeadSpec(
            options.FeatureChannels, options.PooledSize, options.PooledSize, options.SpatialScale, options.HiddenSizes, options.NumClasses);
    }
}
