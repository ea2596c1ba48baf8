namespace Ohem.Core;

/// <summary>
/// Fast R-CNN box targets in the shared contract: the deltas (dx, dy, dw, dh) that move a RoI onto
/// its ground-truth box, divided by the stds (0.1, 0.1, 0.2, 0.2). Widths and heights are x2 - x1
/// and y2 - y1 (no +1), centres x1 + w/2: torchvision's BoxCoder with weights (10, 10, 5, 5), which
/// the tests check against.
/// </summary>
public static class BoxTargets
{
    /// <summary>Largest dw, dh applied when decoding (torchvision's clip, log(1000/16)): no overflow from exp.</summary>
    public static readonly float MaxLogScale = MathF.Log(1000f / 16f);

    /// <summary>
    /// Targets for each RoI towards its matched ground truth (4 floats each): <paramref name="targets"/>[4i..]
    /// = encode(rois[i], groundTruth[i]). Both need positive width and height.
    /// </summary>
    public static void Encode(ReadOnlySpan<float> rois, ReadOnlySpan<float> groundTruth, Span<float> targets)
    {
        var n = Guard.Boxes(rois, nameof(rois));
        Guard.Length(groundTruth.Length, 4 * n, nameof(groundTruth), "one matched box per RoI");
        Guard.Boxes(groundTruth, nameof(groundTruth));
        Guard.Length(targets.Length, 4 * n, nameof(targets), "4 deltas per RoI");
        var stds = RoiLoss.BoxTargetStds;
        for (var i = 0; i < n; i++)
        {
            var (w, h, cx, cy) = Geometry(rois, i, nameof(rois));
            var (gw, gh, gcx, gcy) = Geometry(groundTruth, i, nameof(groundTruth));
            targets[4 * i] = (gcx - cx) / w / stds[0];
            targets[4 * i + 1] = (gcy - cy) / h / stds[1];
            targets[4 * i + 2] = MathF.Log(gw / w) / stds[2];
            targets[4 * i + 3] = MathF.Log(gh / h) / stds[3];
        }
    }

    /// <summary>Boxes predicted by applying <paramref name="deltas"/> (4 per RoI) to <paramref name="rois"/>.</summary>
    public static void Decode(ReadOnlySpan<float> rois, ReadOnlySpan<float> deltas, Span<float> boxes)
    {
        var n = Guard.Boxes(rois, nameof(rois));
        Guard.Length(deltas.Length, 4 * n, nameof(deltas), "4 deltas per RoI");
        Guard.Finite(deltas, nameof(deltas));
        Guard.Length(boxes.Length, 4 * n, nameof(boxes), "4 floats per RoI");
        var stds = RoiLoss.BoxTargetStds;
        for (var i = 0; i < n; i++)
        {
            float w = rois[4 * i + 2] - rois[4 * i], h = rois[4 * i + 3] - rois[4 * i + 1];
            float cx = rois[4 * i] + 0.5f * w, cy = rois[4 * i + 1] + 0.5f * h;
            var px = deltas[4 * i] * stds[0] * w + cx;
            var py = deltas[4 * i + 1] * stds[1] * h + cy;
            var pw = MathF.Exp(MathF.Min(deltas[4 * i + 2] * stds[2], MaxLogScale)) * w;
            var ph = MathF.Exp(MathF.Min(deltas[4 * i + 3] * stds[3], MaxLogScale)) * h;
            boxes[4 * i] = px - 0.5f * pw;
            boxes[4 * i + 1] = py - 0.5f * ph;
            boxes[4 * i + 2] = px + 0.5f * pw;
            boxes[4 * i + 3] = py + 0.5f * ph;
        }
    }

    private static (float W, float H, float Cx, float Cy) Geometry(ReadOnlySpan<float> boxes, int i, string name)
    {
        float w = boxes[4 * i + 2] - boxes[4 * i], h = boxes[4 * i + 3] - boxes[4 * i + 1];
        if (!(w > 0f && h > 0f))
        {
            throw new ArgumentException($"{name} box {i} has width {w} and height {h}; a box target needs both positive.", name);
        }

        return (w, h, boxes[4 * i] + 0.5f * w, boxes[4 * i + 1] + 0.5f * h);
    }
}
