namespace Ohem.Core;

/// <summary>
/// Box geometry in the shared contract: (x1, y1, x2, y2) float32 in input-image pixels, 4 floats
/// per box interleaved, area (x2 - x1)(y2 - y1) with no +1. IoU is computed exactly as
/// torchvision's NMS kernel does (same float32 operations in the same order), so thresholds agree
/// bit for bit; a zero-area box has IoU 0 with everything, itself included.
/// </summary>
public static class Boxes
{
    /// <summary>
    /// Checks boxes in the contract (4 finite floats each, x2 &gt;= x1, y2 &gt;= y1) and returns
    /// their count; throws <see cref="ArgumentException"/> naming <paramref name="name"/> and the first bad box.
    /// </summary>
    public static int Validate(ReadOnlySpan<float> boxesXyxy, string name) => Guard.Boxes(boxesXyxy, name);

    /// <summary>Area of one box, (x2 - x1)(y2 - y1).</summary>
    public static float Area(float x1, float y1, float x2, float y2) => (x2 - x1) * (y2 - y1);

    /// <summary>IoU of two boxes given their areas; 0 when the union is empty.</summary>
    internal static float Iou(
        float ax1, float ay1, float ax2, float ay2, float areaA,
        float bx1, float by1, float bx2, float by2, float areaB)
    {
        var w = MathF.Max(0f, MathF.Min(ax2, bx2) - MathF.Max(ax1, bx1));
        var h = MathF.Max(0f, MathF.Min(ay2, by2) - MathF.Max(ay1, by1));
        var inter = w * h;
        var union = areaA + areaB - inter;
        return union > 0f ? inter / union : 0f;
    }

    /// <summary>IoU of box <paramref name="a"/> with box <paramref name="b"/> (4 floats each).</summary>
    public static float Iou(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Guard.Length(a.Length, 4, nameof(a), "one box: x1, y1, x2, y2");
        Guard.Length(b.Length, 4, nameof(b), "one box: x1, y1, x2, y2");
        Guard.Boxes(a, nameof(a));
        Guard.Boxes(b, nameof(b));
        return Iou(a[0], a[1], a[2], a[3], Area(a[0], a[1], a[2], a[3]),
                   b[0], b[1], b[2], b[3], Area(b[0], b[1], b[2], b[3]));
    }

    /// <summary>IoU of one box against many: <paramref name="iou"/>[j] = IoU(box, boxes[j]).</summary>
    public static void IouOneToMany(ReadOnlySpan<float> box, ReadOnlySpan<float> boxes, Span<float> iou)
    {
        Guard.Length(box.Length, 4, nameof(box), "one box: x1, y1, x2, y2");
        Guard.Boxes(box, nameof(box));
        var n = Guard.Boxes(boxes, nameof(boxes));
        Guard.Length(iou.Length, n, nameof(iou), "one IoU per box");
        var areaA = Area(box[0], box[1], box[2], box[3]);
        for (var j = 0; j < n; j++)
        {
            var b = boxes.Slice(4 * j, 4);
            iou[j] = Iou(box[0], box[1], box[2], box[3], areaA, b[0], b[1], b[2], b[3], Area(b[0], b[1], b[2], b[3]));
        }
    }

    /// <summary>
    /// For every RoI, the largest IoU with any ground-truth box and that box's index (-1 and IoU 0
    /// when there is no ground truth). Ties go to the lower ground-truth index. This is what labels
    /// RoIs (fg when max IoU &gt;= 0.5) and what the Fast R-CNN bg_lo heuristic reads.
    /// </summary>
    public static void MaxIou(ReadOnlySpan<float> rois, ReadOnlySpan<float> groundTruth, Span<float> maxIou, Span<int> argMax)
    {
        var r = Guard.Boxes(rois, nameof(rois));
        var g = Guard.Boxes(groundTruth, nameof(groundTruth));
        Guard.Length(maxIou.Length, r, nameof(maxIou), "one value per RoI");
        Guard.Length(argMax.Length, r, nameof(argMax), "one index per RoI");

        Span<float> gtArea = g <= 256 ? stackalloc float[g] : new float[g];
        for (var k = 0; k < g; k++)
        {
            gtArea[k] = Area(groundTruth[4 * k], groundTruth[4 * k + 1], groundTruth[4 * k + 2], groundTruth[4 * k + 3]);
        }

        for (var i = 0; i < r; i++)
        {
            float x1 = rois[4 * i], y1 = rois[4 * i + 1], x2 = rois[4 * i + 2], y2 = rois[4 * i + 3];
            var area = Area(x1, y1, x2, y2);
            var best = 0f;
            var bestIndex = -1;
            for (var k = 0; k < g; k++)
            {
                var iou = Iou(x1, y1, x2, y2, area,
                    groundTruth[4 * k], groundTruth[4 * k + 1], groundTruth[4 * k + 2], groundTruth[4 * k + 3], gtArea[k]);
                if (iou > best || bestIndex < 0)
                {
                    best = iou;
                    bestIndex = k;
                }
            }

            maxIou[i] = best;
            argMax[i] = bestIndex;
        }
    }
}
