namespace Ohem.Core.Tests.Support;

/// <summary>
/// The textbook O(N^2) greedy NMS, written independently of Ohem.Core: a stable sort by score,
/// then suppress every later box whose IoU with a kept one exceeds the threshold. Same float32
/// expression as torchvision's kernel: inter / (area_kept + area_other - inter).
/// </summary>
internal static class NaiveNms
{
    public static int[] Run(float[] boxes, float[] scores, float threshold, int[]? classes = null)
    {
        var n = scores.Length;
        var order = Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
        var suppressed = new bool[n];
        var kept = new List<int>();
        for (var a = 0; a < n; a++)
        {
            var i = order[a];
            if (suppressed[i])
            {
                continue;
            }

            kept.Add(i);
            for (var b = a + 1; b < n; b++)
            {
                var j = order[b];
                if (classes is not null && classes[i] != classes[j])
                {
                    continue;
                }

                if (Iou(boxes, i, j) > threshold)
                {
                    suppressed[j] = true;
                }
            }
        }

        return [.. kept];
    }

    public static float Iou(float[] b, int i, int j)
    {
        var areaI = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
        var areaJ = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
        var w = Math.Max(0f, Math.Min(b[4 * i + 2], b[4 * j + 2]) - Math.Max(b[4 * i], b[4 * j]));
        var h = Math.Max(0f, Math.Min(b[4 * i + 3], b[4 * j + 3]) - Math.Max(b[4 * i + 1], b[4 * j + 1]));
        var inter = w * h;
        return inter / (areaI + areaJ - inter);
    }
}
