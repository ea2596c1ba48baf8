using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Trainer.Evaluation;

namespace Ohem.Trainer.Tests.Evaluation;

public sealed class DetectionDecoderTests
{
    [Fact]
    public void One_confident_roi_with_zero_deltas_is_one_detection_at_the_roi()
    {
        float[] rois = [10, 20, 50, 80];
        float[] logits = [0, 1, 5]; // background, class 1, class 2
        var detections = DetectionDecoder.Decode(rois, logits, new float[12], numClasses: 2, imageSize: 100, new DetectionOptions());
        var expectedScore = MathF.Exp(5) / (1 + MathF.E + MathF.Exp(5));
        var classOne = MathF.E / (1 + MathF.E + MathF.Exp(5));
        Assert.True(classOne < 0.05f); // so class 1 stays under the threshold
        var d = Assert.Single(detections);
        Assert.Equal(2, d.Class);
        // Two float32 softmax formulas agree to a few ulps, not to 6 decimals: the score, 0.9755587,
        // lies 3 to 4 ulps above the rounding boundary 0.9755585.
        Assert.Equal(expectedScore, d.Score, 1e-6f);
        Assert.Equal((10f, 20f, 50f, 80f), (d.X1, d.Y1, d.X2, d.Y2));
    }

    [Fact]
    public void Deltas_move_the_box_and_it_is_clipped_to_the_image()
    {
        // dx = 1 (x 0.1 x width 40 = +4), dw = 5 x ln 2 (x 0.2 -> width doubles), then clipped at 100.
        float[] rois = [60, 20, 100, 80];
        float[] logits = [0, 9];
        float[] deltas = [0, 0, 0, 0, 1, 0, 5 * MathF.Log(2), 0];
        var d = Assert.Single(DetectionDecoder.Decode(rois, logits, deltas, 1, 100, new DetectionOptions()));
        Assert.Equal(84f - 40f, d.X1, 4);
        Assert.Equal(100f, d.X2); // 84 + 40 = 124, clipped
        Assert.Equal(20f, d.Y1, 4);
        Assert.Equal(80f, d.Y2, 4);
    }

    [Fact]
    public void Equals_a_straightforward_reference_on_random_outputs()
    {
        var cases = Gen.Choose(0, int.MaxValue).Select(seed => seed).ToArbitrary();
        Properties.Check(Prop.ForAll(cases, seed =>
        {
            var rng = new Random(seed);
            var r = 1 + rng.Next(300);
            var k = 1 + rng.Next(6);
            var size = 64 + rng.Next(200);
            var options = new DetectionOptions { ScoreThreshold = (float)(0.3 * rng.NextDouble()), NmsIou = (float)rng.NextDouble(), MaxPerImage = 1 + rng.Next(150) };
            var rois = new float[4 * r];
            for (var i = 0; i < r; i++)
            {
                // Clustered boxes so that NMS has work to do.
                float cx = rng.Next(4) * size / 4f + (float)(rng.NextDouble() * 10), cy = rng.Next(4) * size / 4f + (float)(rng.NextDouble() * 10);
                float w = 4 + (float)(rng.NextDouble() * size / 3), h = 4 + (float)(rng.NextDouble() * size / 3);
                (rois[4 * i], rois[(4 * i) + 1], rois[(4 * i) + 2], rois[(4 * i) + 3]) = (cx, cy, Math.Min(size, cx + w), Math.Min(size, cy + h));
            }

            var logits = Enumerable.Range(0, r * (k + 1)).Select(_ => (float)(rng.NextDouble() * 6) - 3).ToArray();
            var deltas = Enumerable.Range(0, 4 * r * (k + 1)).Select(_ => (float)(rng.NextDouble() - 0.5) * 4).ToArray();

            var ours = DetectionDecoder.Decode(rois, logits, deltas, k, size, options);
            var reference = Reference(rois, logits, deltas, k, size, options);
            Assert.Equal(reference, ours);
        }), maxTest: 100);
    }

    [Fact]
    public void Wrong_lengths_and_non_finite_logits_are_rejected_by_name()
    {
        var options = new DetectionOptions();
        Assert.Equal("clsScores", Assert.Throws<ArgumentException>(() => DetectionDecoder.Decode(new float[8], new float[5], new float[24], 2, 10, options)).ParamName);
        Assert.Equal("bboxPred", Assert.Throws<ArgumentException>(() => DetectionDecoder.Decode(new float[8], new float[6], new float[20], 2, 10, options)).ParamName);
        Assert.Equal("clsScores", Assert.Throws<ArgumentException>(() => DetectionDecoder.Decode([0, 0, 1, 1], [0, float.NaN, 0], new float[12], 2, 10, options)).ParamName);
        Assert.Equal("proposals", Assert.Throws<ArgumentException>(() => DetectionDecoder.Decode([0, 0, 1], [0, 0, 0], new float[12], 2, 10, options)).ParamName);
        Assert.Equal("MaxPerImage", Assert.Throws<ArgumentException>(() => DetectionDecoder.Decode([0, 0, 1, 1], [0, 0, 0], new float[12], 2, 10, options with { MaxPerImage = 0 })).ParamName);
    }

    /// <summary>
    /// The same pipeline written plainly, without Ohem.Core: softmax, the Fast R-CNN decode formula,
    /// clip, greedy NMS per class by an O(n^2) loop, merge by score. Float32 arithmetic in the
    /// contract's order (torchvision's IoU), so results compare exactly, thresholds included.
    /// </summary>
    private static List<Detection> Reference(float[] rois, float[] logits, float[] deltas, int k, int size, DetectionOptions options)
    {
        var c = k + 1;
        var r = rois.Length / 4;
        var maxLog = MathF.Log(1000f / 16f);
        var candidates = new List<(int Order, Detection D)>();
        for (var i = 0; i < r; i++)
        {
            var row = logits.AsSpan(i * c, c);
            var max = float.NegativeInfinity;
            foreach (var v in row)
            {
                max = Math.Max(max, v);
            }

            var sum = 0f;
            foreach (var v in row)
            {
                sum += MathF.Exp(v - max);
            }

            for (var cls = 1; cls < c; cls++)
            {
                var p = MathF.Exp(row[cls] - max) / sum;
                if (p <= options.ScoreThreshold)
                {
                    continue;
                }

                float w = rois[(4 * i) + 2] - rois[4 * i], h = rois[(4 * i) + 3] - rois[(4 * i) + 1];
                float cx = rois[4 * i] + (0.5f * w), cy = rois[(4 * i) + 1] + (0.5f * h);
                var dd = deltas.AsSpan(4 * ((i * c) + cls), 4);
                var px = (dd[0] * 0.1f * w) + cx;
                var py = (dd[1] * 0.1f * h) + cy;
                var pw = MathF.Exp(MathF.Min(dd[2] * 0.2f, maxLog)) * w;
                var ph = MathF.Exp(MathF.Min(dd[3] * 0.2f, maxLog)) * h;
                candidates.Add((candidates.Count, new Detection(cls, p,
                    Math.Clamp(px - (0.5f * pw), 0f, size), Math.Clamp(py - (0.5f * ph), 0f, size),
                    Math.Clamp(px + (0.5f * pw), 0f, size), Math.Clamp(py + (0.5f * ph), 0f, size))));
            }
        }

        var kept = new List<(int Order, Detection D)>();
        foreach (var group in candidates.GroupBy(x => x.D.Class))
        {
            var keptInClass = new List<Detection>();
            foreach (var (order, d) in group.OrderByDescending(x => x.D.Score).ThenBy(x => x.Order))
            {
                if (keptInClass.All(q => Iou(q, d) <= options.NmsIou))
                {
                    keptInClass.Add(d);
                    kept.Add((order, d));
                }
            }
        }

        return kept.OrderByDescending(x => x.D.Score).ThenBy(x => x.Order).Take(options.MaxPerImage).Select(x => x.D).ToList();
    }

    private static float Iou(Detection a, Detection b)
    {
        var iw = MathF.Max(0f, MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1));
        var ih = MathF.Max(0f, MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1));
        var inter = iw * ih;
        var union = ((a.X2 - a.X1) * (a.Y2 - a.Y1)) + ((b.X2 - b.X1) * (b.Y2 - b.Y1)) - inter;
        return union > 0 ? inter / union : 0;
    }
}
