namespace Ohem.Onnx.Scoring;

/// <summary>
/// One training batch as the miner scores it: the feature maps of N images as one float32
/// [N, C, H, W] tensor (row-major), and each image's RoIs with their labels and box targets.
/// </summary>
/// <param name="Features">N * C * H * W floats.</param>
/// <param name="Shape">(N, C, H, W).</param>
/// <param name="Images">One entry per image, in the order of the features.</param>
public sealed record ScoringBatch(ReadOnlyMemory<float> Features, (int N, int C, int H, int W) Shape, IReadOnlyList<ImageRoiSet> Images);

/// <summary>One image's RoIs in the shared contract.</summary>
/// <param name="Boxes">[R, 4] (x1, y1, x2, y2) in input-image pixels.</param>
/// <param name="Labels">[R] -1 ignore, 0 background, 1..K.</param>
/// <param name="BoxTargets">[R, 4] normalised (dx, dy, dw, dh) of the ground-truth class.</param>
public sealed record ImageRoiSet(float[] Boxes, int[] Labels, float[] BoxTargets)
{
    public int Count => Labels.Length;
}

/// <summary>The loss of every RoI, per image, its two terms, and the weights version that scored them.</summary>
/// <param name="Losses">Per image, [R] multi-task loss (the contract's hardness).</param>
/// <param name="ClassLosses">Per image, [R] its cross-entropy term.</param>
/// <param name="BoxLosses">Per image, [R] its box term (0 for background).</param>
public sealed record ScoringResult(ulong Version, float[][] Losses, float[][] ClassLosses, float[][] BoxLosses, ScoringTimings Timings);

/// <summary>Where a scoring's time went.</summary>
/// <param name="Prepare">Checking the input, building the RoI tensor, binding.</param>
/// <param name="Pool">RoI pooling on the host (zero when ONNX Runtime pools inside the model).</param>
/// <param name="Run">ONNX Runtime: the head (and the pooling, when it runs there).</param>
/// <param name="Loss">Per-RoI multi-task loss over the outputs.</param>
public readonly record struct ScoringTimings(TimeSpan Prepare, TimeSpan Pool, TimeSpan Run, TimeSpan Loss);
