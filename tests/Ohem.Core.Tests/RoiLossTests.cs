using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Tests.Support;
using Ohem.Testing;
using Ohem.Reference;

namespace Ohem.Core.Tests;

public class RoiLossTests
{
    private static float[] Loss(float[] logits, float[] deltas, int[] labels, float[] targets, int k, float lambda = 1f)
    {
        var loss = new float[labels.Length];
        RoiLoss.Compute(logits, deltas, labels, targets, k, loss, lambda);
        return loss;
    }

    [Fact]
    public void Uniform_logits_give_log_of_class_count_for_background()
    {
        // K = 2: three equal logits, background label: CE = ln 3, no box term.
        var loss = Loss([0, 0, 0], new float[12], [0], [9, 9, 9, 9], 2);
        // A float32 loss (vectorised exp and sum: the last bits depend on the CPU) to a few ulps;
        // ln 3 = 1.09861229 is 1.8 ulps below the 6-decimal rounding boundary.
        Assert.Equal(Math.Log(3), loss[0], 1e-6);
    }

    [Fact]
    public void Foreground_adds_smooth_l1_of_the_labelled_class_only()
    {
        // Deltas of class 1 differ from the targets by (0.5, -2, 0, 1):
        // smooth-L1 = 0.5*0.25 + (2 - 0.5) + 0 + 0.5*1 = 2.125. Class 2's deltas are far off but unread.
        float[] deltas = [0, 0, 0, 0, 1.5f, -1, 2, 3, 50, 50, 50, 50];
        float[] targets = [1, 1, 2, 2];
        var loss = Loss([1, 2, 3], deltas, [1], targets, 2);
        var ce = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 2;
        // Float32 to a few ulps (the answers sit 2 and 4 ulps from 5-decimal rounding boundaries).
        Assert.Equal(ce + 2.125, loss[0], 1e-5);

        var weighted = Loss([1, 2, 3], deltas, [1], targets, 2, lambda: 2f);
        Assert.Equal(ce + 2 * 2.125, weighted[0], 1e-5);
    }

    [Fact]
    public void Smooth_l1_switches_at_one()
    {
        Assert.Equal(0.125f, RoiLoss.SmoothL1(0.5f));
        Assert.Equal(0.125f, RoiLoss.SmoothL1(-0.5f));
        Assert.Equal(0.5f, RoiLoss.SmoothL1(1f));
        Assert.Equal(2.5f, RoiLoss.SmoothL1(-3f));
    }

    [Fact]
    public void Extreme_logits_stay_finite()
    {
        var loss = Loss([1000, 0, -1000, 1000, 0, -1000], new float[24], [0, 2], new float[8], 2);
        Assert.Equal(0f, loss[0], 5);
        Assert.Equal(2000f, loss[1], 2);
    }

    [Fact]
    public void Ignored_rois_get_no_loss() =>
        Assert.Equal(0f, Loss([5, -5, 0], new float[12], [-1], new float[4], 2)[0]);

    [Fact]
    public void Box_target_stds_are_the_contract_values() =>
        Assert.Equal([0.1f, 0.1f, 0.2f, 0.2f], RoiLoss.BoxTargetStds.ToArray());

    [Fact]
    public void Matches_a_double_precision_reference_on_random_inputs()
    {
        var cases =
            from k in Gen.Choose(1, 30)
            from r in Gen.Choose(0, 20)
            from seed in Gen.Choose(0, int.MaxValue)
            select (k, r, seed);
        Properties.Check(Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var (logits, deltas, labels, targets) = Random(c.r, c.k, c.seed, scale: 30);
            var ours = Loss(logits, deltas, labels, targets, c.k);
            for (var i = 0; i < c.r; i++)
            {
                var expected = ReferenceLoss(logits, deltas, labels, targets, c.k, i);
                if (Math.Abs(ours[i] - expected) > 1e-5 * Math.Max(1, Math.Abs(expected)))
                {
                    return false;
                }
            }

            return true;
        }), 300);
    }

    [Fact]
    public void Terms_sum_to_the_loss_bit_for_bit_and_match_the_reference_terms()
    {
        var cases =
            from k in Gen.Choose(1, 12)
            from r in Gen.Choose(0, 20)
            from seed in Gen.Choose(0, int.MaxValue)
            from lambda in Gen.Elements(0f, 0.5f, 1f, 3f)
            select (k, r, seed, lambda);
        Properties.Check(Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var (logits, deltas, labels, targets) = Random(c.r, c.k, c.seed, scale: 30);
            var whole = Loss(logits, deltas, labels, targets, c.k, c.lambda);
            var (loss, cls, box) = (new float[c.r], new float[c.r], new float[c.r]);
            RoiLoss.ComputeTerms(logits, deltas, labels, targets, c.k, loss, cls, box, c.lambda);
            for (var i = 0; i < c.r; i++)
            {
                // The loss is unchanged by asking for the terms, and is their float sum.
                Assert.Equal(BitConverter.SingleToInt32Bits(whole[i]), BitConverter.SingleToInt32Bits(loss[i]));
                Assert.Equal(loss[i], cls[i] + box[i]);
                var withoutBox = ReferenceLoss(logits, deltas, labels, targets, c.k, i, 0f);
                Assert.True(Math.Abs(cls[i] - withoutBox) <= 1e-5 * Math.Max(1, Math.Abs(withoutBox)), $"RoI {i}: cls {cls[i]} vs {withoutBox}");
                if (labels[i] < 1)
                {
                    Assert.Equal(0f, box[i]); // background and ignored RoIs have no box term
                }
            }

            return true;
        }), 200);
    }

    [Fact]
    public void Term_spans_of_the_wrong_length_are_named()
    {
        var loss = new float[1];
        Assert.Equal("classLoss", Assert.Throws<ArgumentException>(
            () => RoiLoss.ComputeTerms([0, 0, 0], new float[12], [0], new float[4], 2, loss, new float[2], default)).ParamName);
        Assert.Equal("boxLoss", Assert.Throws<ArgumentException>(
            () => RoiLoss.ComputeTerms([0, 0, 0], new float[12], [0], new float[4], 2, loss, default, new float[3])).ParamName);
    }

    [TorchFact]
    public void Matches_torch_cross_entropy_plus_smooth_l1()
    {
        var (logits, deltas, labels, targets) = Random(3000, 20, seed: 11, scale: 10);
        var ours = Loss(logits, deltas, labels, targets, 20);
        var (torch, _) = TorchReference.Loss(logits, deltas, labels, targets, 20, repeats: 1);
        for (var i = 0; i < ours.Length; i++)
        {
            Assert.True(Math.Abs(ours[i] - torch[i]) <= 1e-5f * Math.Max(1f, Math.Abs(torch[i])),
                $"RoI {i} (label {labels[i]}): ours {ours[i]}, torch {torch[i]}");
        }
    }

    [Fact]
    public void Bad_input_names_the_field_and_index()
    {
        var e = Assert.Throws<ArgumentException>(() => Loss([0, 0, 0, 0, 0, 0], new float[24], [0, 3], new float[8], 2));
        Assert.Equal("labels", e.ParamName);
        Assert.Contains("labels[1]", e.Message);
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => Loss([0, 0, 0], new float[12], [-2], new float[4], 2)).Message);

        var nan = Assert.Throws<ArgumentException>(() => Loss([0, float.NaN, 0], new float[12], [0], new float[4], 2));
        Assert.Equal("classLogits", nan.ParamName);
        Assert.Contains("classLogits[1]", nan.Message);

        Assert.Equal("boxDeltas", Assert.Throws<ArgumentException>(() => Loss([0, 0, 0], new float[8], [0], new float[4], 2)).ParamName);
        Assert.Equal("boxTargets", Assert.Throws<ArgumentException>(() => Loss([0, 0, 0], new float[12], [1], new float[3], 2)).ParamName);
        Assert.Equal("numClasses", Assert.Throws<ArgumentOutOfRangeException>(() => Loss([0], new float[4], [0], new float[4], 0)).ParamName);
        Assert.Equal("boxLossWeight", Assert.Throws<ArgumentOutOfRangeException>(() => Loss([0, 0, 0], new float[12], [0], new float[4], 2, -1f)).ParamName);
    }

    private static (float[] Logits, float[] Deltas, int[] Labels, float[] Targets) Random(int r, int k, int seed, float scale)
    {
        var rng = new Random(seed);
        float Next() => (float)((rng.NextDouble() * 2 - 1) * scale);
        var logits = Enumerable.Range(0, r * (k + 1)).Select(_ => Next()).ToArray();
        var deltas = Enumerable.Range(0, r * 4 * (k + 1)).Select(_ => Next() / scale * 3).ToArray();
        var labels = Enumerable.Range(0, r).Select(_ => rng.Next(-1, k + 1)).ToArray();
        var targets = Enumerable.Range(0, r * 4).Select(_ => Next() / scale * 3).ToArray();
        return (logits, deltas, labels, targets);
    }

    /// <summary>The contract's formula in double precision, written out term by term.</summary>
    private static double ReferenceLoss(float[] logits, float[] deltas, int[] labels, float[] targets, int k, int i, float lambda = 1f)
    {
        var label = labels[i];
        if (label < 0)
        {
            return 0;
        }

        var row = logits.Skip(i * (k + 1)).Take(k + 1).Select(v => (double)v).ToArray();
        var max = row.Max();
        var ce = max + Math.Log(row.Sum(v => Math.Exp(v - max))) - row[label];
        if (label == 0)
        {
            return ce;
        }

        double box = 0;
        for (var j = 0; j < 4; j++)
        {
            var d = Math.Abs((double)deltas[i * 4 * (k + 1) + 4 * label + j] - targets[4 * i + j]);
            box += d < 1 ? 0.5 * d * d : d - 0.5;
        }

        return ce + (lambda * box);
    }
}
