namespace Ohem.Core.Selection;

/// <summary>
/// Options of the "ohem" policy (Shrivastava et al. 2016). Defaults are the paper's: NMS at IoU
/// 0.7 over the loss and 64 RoIs per image (B = 128 over N = 2 images).
/// </summary>
public sealed record OhemOptions
{
    /// <summary>Hard RoIs kept per image after NMS (B/N).</summary>
    public int Budget { get; init; } = 64;

    /// <summary>NMS suppresses a RoI whose IoU with a harder kept RoI is strictly greater than this.</summary>
    public float IouThreshold { get; init; } = 0.7f;

    /// <summary>
    /// Run NMS per label (RoIs of different labels never suppress each other), as the reference
    /// Caffe implementation (abhi2610/ohem) does; false is class-agnostic NMS, as the paper describes.
    /// </summary>
    public bool PerClass { get; init; }

    /// <summary>The part of the loss RoIs are ranked by (option "hardness": cls+box, cls or box).</summary>
    public HardnessLoss Hardness { get; init; }

    internal void Validate()
    {
        Guard.Positive(Budget, "budget");
        Guard.IouThreshold(IouThreshold, "iouThreshold");
    }
}
