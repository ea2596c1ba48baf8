namespace Ohem.Core.Selection;

/// <summary>
/// A selection policy: given one image's RoIs and their losses, choose which RoIs the trainable
/// head trains on. Policies are small objects built by name from options
/// (SelectionPolicies.Create). A policy
/// that samples holds its own seeded generator (and, for selective-backprop, its loss history), so
/// an instance serves one stream of images and is not thread-safe.
/// </summary>
public interface IHardExampleSelector
{
    /// <summary>The name the policy is chosen by ("ohem", "topk", ...).</summary>
    string Name { get; }

    /// <summary>Selects from one image. Throws <see cref="ArgumentException"/> on malformed input.</summary>
    Selection Select(ImageRois rois);
}
