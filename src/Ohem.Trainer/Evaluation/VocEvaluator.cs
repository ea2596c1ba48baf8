namespace Ohem.Trainer.Evaluation;

/// <summary>
/// PASCAL VOC detection AP, computed as py-faster-rcnn's voc_eval does (with our box contract:
/// areas without +1): per class, detections of all images sorted by descending score; each is a
/// true positive when its best-overlapping ground truth of that class in its image has IoU above
/// the threshold (strictly, as voc_eval) and was not matched before, else a false positive (so
/// duplicates are false positives); AP is the area under the interpolated precision-recall curve:
/// all points (VOC2010 and later, the default) or 11 recall points (VOC2007).
/// Not thread-safe: add images from one thread.
/// </summary>
public sealed class VocEvaluator
{
    private readonly int _numClasses;
    private readonly float _iouThreshold;
    private readonly bool _use07Metric;
    private readonly List<float[]> _gtBoxes = [];
    private readonly List<int[]> _gtClasses = [];
    private readonly List<Detection[]> _detections = [];

    /// <param name="numClasses">K: classes are 1..K.</param>
    /// <param name="iouThreshold">A detection matches a ground truth when IoU &gt; this.</param>
    /// <param name="use07Metric">11-point interpolated AP (VOC2007) instead of all points.</param>
    public VocEvaluator(int numClasses, float iouThreshold = 0.5f, bool use07Metric = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        if (!(iouThreshold is >= 0f and < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(iouThreshold), iouThreshold, "expected in [0, 1).");
        }

        _numClasses = numClasses;
        _iouThreshold = iouThreshold;
        _use07Metric = use07Metric;
    }

    /// <summary>Images added so far.</summary>
    public int ImageCount => _gtClasses.Count;

    /// <summary>Adds one image: its ground truth (G x 4 boxes, G classes 1..K) and its detections.</summary>
    public void Add(ReadOnlySpan<float> gtBoxes, ReadOnlySpan<int> gtClasses, IReadOnlyList<Detection> detections)
    {
        ArgumentNullException.ThrowIfNull(detections);
        var g = Ohem.Core.Boxes.Validate(gtBoxes, nameof(gtBoxes));
        if (gtClasses.Length != g)
        {
            throw new ArgumentException($"gtClasses has {gtClasses.Length} values; expected one per ground-truth box ({g}).", nameof(gtClasses));
        }

        for (var j = 0; j < g; j++)
        {
            if (gtClasses[j] < 1 || gtClasses[j] > _numClasses)
            {
                throw new ArgumentException($"gtClasses[{j}] is {gtClasses[j]}; expected 1..{_numClasses}.", nameof(gtClasses));
            }
        }

        var copy = new Detection[detections.Count];
        for (var d = 0; d < copy.Length; d++)
        {
            var det = detections[d];
            if (det.Class < 1 || det.Class > _numClasses)
            {
                throw new ArgumentException($"detections[{d}].Class is {det.Class}; expected 1..{_numClasses}.", nameof(detections));
            }

            if (!float.IsFinite(det.Score) || !float.IsFinite(det.X1) || !float.IsFinite(det.Y1) || !float.IsFinite(det.X2) || !float.IsFinite(det.Y2))
            {
                throw new ArgumentException($"detections[{d}] has a non-finite score or coordinate.", nameof(detections));
            }

            copy[d] = det;
        }

        _gtBoxes.Add(gtBoxes.ToArray());
        _gtClasses.Add(gtClasses.ToArray());
        _detections.Add(copy);
    }

    /// <summary>AP per class and mAP over everything added.</summary>
    public VocResult Compute()
    {
        var aps = new float[_numClasses];
        double sum = 0;
        var counted = 0;
        for (var k = 1; k <= _numClasses; k++)
        {
            var ap = ClassAp(k);
            aps[k - 1] = (float)ap;
            if (!double.IsNaN(ap))
            {
                sum += ap;
                counted++;
            }
        }

        return new VocResult(aps, counted > 0 ? (float)(sum / counted) : float.NaN);
    }

    private double ClassAp(int k)
    {
        // Ground truth of class k, per image, with a matched flag each.
        var positives = 0;
        var matched = new bool[_gtClasses.Count][];
        for (var img = 0; img < _gtClasses.Count; img++)
        {
            var classes = _gtClasses[img];
            matched[img] = new bool[classes.Length];
            foreach (var c in classes)
            {
                positives += c == k ? 1 : 0;
            }
        }

        if (positives == 0)
        {
            return double.NaN;
        }

        var detections = new List<(float Score, int Image, int Order, Detection Box)>();
        for (var img = 0; img < _detections.Count; img++)
        {
            var list = _detections[img];
            for (var d = 0; d < list.Length; d++)
            {
                if (list[d].Class == k)
                {
                    detections.Add((list[d].Score, img, detections.Count, list[d]));
                }
            }
        }

        // Descending score; equal scores keep the order they were added in.
        detections.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Order.CompareTo(b.Order));
        var n = detections.Count;
        var precision = new double[n];
        var recall = new double[n];
        double tp = 0, fp = 0;
        for (var d = 0; d < n; d++)
        {
            var (_, img, _, det) = detections[d];
            var boxes = _gtBoxes[img];
            var classes = _gtClasses[img];
            var best = double.NegativeInfinity;
            var bestIndex = -1;
            for (var j = 0; j < classes.Length; j++)
            {
                if (classes[j] != k)
                {
                    continue;
                }

                var iou = Iou(det, boxes.AsSpan(4 * j, 4));
                if (iou > best)
                {
                    best = iou;
                    bestIndex = j;
                }
            }

            if (bestIndex >= 0 && best > _iouThreshold && !matched[img][bestIndex])
            {
                matched[img][bestIndex] = true;
                tp++;
            }
            else
            {
                fp++;
            }

            recall[d] = tp / positives;
            precision[d] = tp / Math.Max(tp + fp, 2.220446049250313e-16); // numpy float64 eps, as voc_eval
        }

        return _use07Metric ? ElevenPointAp(recall, precision) : AllPointAp(recall, precision);
    }

    /// <summary>IoU in double precision, voc_eval's order of operations, no +1.</summary>
    private static double Iou(Detection d, ReadOnlySpan<float> g)
    {
        double ixmin = Math.Max(g[0], d.X1), iymin = Math.Max(g[1], d.Y1);
        double ixmax = Math.Min(g[2], d.X2), iymax = Math.Min(g[3], d.Y2);
        var iw = Math.Max(ixmax - ixmin, 0.0);
        var ih = Math.Max(iymax - iymin, 0.0);
        var inter = iw * ih;
        var union = ((double)d.X2 - d.X1) * ((double)d.Y2 - d.Y1) + ((double)g[2] - g[0]) * ((double)g[3] - g[1]) - inter;
        return union > 0 ? inter / union : 0.0;
    }

    /// <summary>voc_ap, use_07_metric=False: area under the precision envelope at every recall change.</summary>
    internal static double AllPointAp(ReadOnlySpan<double> recall, ReadOnlySpan<double> precision)
    {
        var n = recall.Length;
        var mrec = new double[n + 2];
        var mpre = new double[n + 2];
        mrec[n + 1] = 1.0;
        recall.CopyTo(mrec.AsSpan(1));
        precision.CopyTo(mpre.AsSpan(1));
        for (var i = n; i >= 1; i--)
        {
            mpre[i - 1] = Math.Max(mpre[i - 1], mpre[i]);
        }

        double ap = 0;
        for (var i = 0; i < n + 1; i++)
        {
            if (mrec[i + 1] != mrec[i])
            {
                ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
            }
        }

        return ap;
    }

    /// <summary>voc_ap, use_07_metric=True: mean over recall 0, 0.1, ..., 1 of the best precision at recall &gt;= t.</summary>
    internal static double ElevenPointAp(ReadOnlySpan<double> recall, ReadOnlySpan<double> precision)
    {
        double ap = 0;
        for (var step = 0; step <= 10; step++)
        {
            var t = step * 0.1; // numpy.arange(0., 1.1, 0.1) values exactly (0.30000000000000004, ...)
            var p = 0.0;
            for (var i = 0; i < recall.Length; i++)
            {
                if (recall[i] >= t)
                {
                    p = Math.Max(p, precision[i]);
                }
            }

            ap += p / 11.0;
        }

        return ap;
    }
}
