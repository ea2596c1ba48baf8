using FsCheck;
using FsCheck.Fluent;
using Ohem.Reference;
using Ohem.Testing;

namespace Ohem.Core.Tests;

public class BoxTargetsTests
{
    [Fact]
    public void Known_answers_worked_by_hand()
    {
        // RoI (0,0,10,20): w 10, h 20, centre (5, 10).
        // GT (2,4,12,24): centre (7, 14), same size -> dx = 2/10/0.1 = 2, dy = 4/20/0.1 = 2, dw = dh = 0.
        // GT (0,0,20,10): centre (10, 5), w 20, h 10 -> dx = 5, dy = -2.5, dw = ln 2 / 0.2, dh = -ln 2 / 0.2.
        var targets = new float[8];
        BoxTargets.Encode([0, 0, 10, 20, 0, 0, 10, 20], [2, 4, 12, 24, 0, 0, 20, 10], targets);
        var ln2 = (float)(Math.Log(2) / 0.2);
        float[] expected = [2, 2, 0, 0, 5, -2.5f, ln2, -ln2];
        // MathF.Log to a few ulps (CPU-dependent last bits): ln 2 / 0.2 = 3.4657359 is 4 ulps from a
        // 5-decimal rounding boundary.
        Assert.All(expected.Zip(targets), x => Assert.Equal(x.First, x.Second, 1e-5f));
    }

    [Fact]
    public void Decoding_the_encoding_gives_the_ground_truth_back()
    {
        var box = Gen.Four(Gen.Choose(0, 400)).Where(c => c.Item1 != c.Item3 && c.Item2 != c.Item4).Select(c => new float[]
            { Math.Min(c.Item1, c.Item3), Math.Min(c.Item2, c.Item4), Math.Max(c.Item1, c.Item3), Math.Max(c.Item2, c.Item4) });
        Properties.Check(Prop.ForAll(box.ToArbitrary(), box.ToArbitrary(), (roi, gt) =>
        {
            // Within the decoder's clip (gt no more than 62.5x the RoI on a side): exact up to rounding.
            var wRatio = (gt[2] - gt[0]) / (roi[2] - roi[0]);
            var hRatio = (gt[3] - gt[1]) / (roi[3] - roi[1]);
            if (wRatio > 62 || hRatio > 62)
            {
                return true;
            }

            var targets = new float[4];
            var decoded = new float[4];
            BoxTargets.Encode(roi, gt, targets);
            BoxTargets.Decode(roi, targets, decoded);
            return gt.Zip(decoded).All(x => Math.Abs(x.First - x.Second) <= 1e-3f * Math.Max(1f, Math.Abs(x.First)));
        }), 1000);
    }

    [Fact]
    public void Huge_scale_deltas_are_clipped_not_overflowed()
    {
        var boxes = new float[4];
        BoxTargets.Decode([0, 0, 16, 16], [0, 0, 1e6f, 1e6f], boxes);
        Assert.Equal(-492f, boxes[0], 2); // width clipped to 16 * 1000/16 = 1000 around centre 8
        Assert.Equal(508f, boxes[2], 2);
    }

    [Fact]
    public void Degenerate_boxes_are_named()
    {
        var e = Assert.Throws<ArgumentException>(() => BoxTargets.Encode([0, 0, 1, 1, 0, 0, 2, 2], [0, 0, 1, 1, 5, 5, 5, 9], new float[8]));
        Assert.Equal("groundTruth", e.ParamName);
        Assert.Contains("box 1", e.Message);
    }

    [TorchFact]
    public void Matches_torchvision_box_coder()
    {
        var rng = new Random(3);
        float[] Boxes(int n) => [.. Enumerable.Range(0, n).SelectMany(_ =>
        {
            float x = rng.Next(0, 500), y = rng.Next(0, 400);
            return new[] { x, y, x + 1 + (float)rng.NextDouble() * 200, y + 1 + (float)rng.NextDouble() * 200 };
        })];
        var rois = Boxes(500);
        var gt = Boxes(500);
        var deltas = Enumerable.Range(0, 2000).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
        var (encoded, decoded) = TorchReference.BoxCoder(rois, gt, deltas);
        var ours = new float[2000];
        BoxTargets.Encode(rois, gt, ours);
        Assert.All(ours.Zip(encoded), x => Assert.True(Math.Abs(x.First - x.Second) <= 1e-4f * Math.Max(1f, Math.Abs(x.Second)), $"{x.First} vs {x.Second}"));
        BoxTargets.Decode(rois, deltas, ours);
        Assert.All(ours.Zip(decoded), x => Assert.True(Math.Abs(x.First - x.Second) <= 1e-4f * Math.Max(1f, Math.Abs(x.Second)), $"{x.First} vs {x.Second}"));
    }
}
