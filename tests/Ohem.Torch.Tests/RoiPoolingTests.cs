using FsCheck;
using FsCheck.Fluent;
using Ohem.Onnx;
using Ohem.Onnx.Export;
using Ohem.Onnx.Export.OnnxProto;
using Ohem.Onnx.Scoring;
using Ohem.Reference;
using Ohem.Testing;

namespace Ohem.Torch.Tests;

/// <summary>
/// The engine's RoI max pooling (a TorchSharp autograd function) against ONNX MaxRoiPool: bit for bit with Ohem.Onnx's host kernel
/// (itself bit-exact with ONNX Runtime) on random cases, once directly against ONNX Runtime, and
/// the autograd backward against a reference scatter and finite differences.
/// </summary>
public class RoiPoolingTests
{
    internal sealed record Case(int N, int C, int H, int W, int PooledH, int PooledW, float Scale, float[] Features, float[] Rois)
    {
        public int R => Rois.Length / 5;

        public override string ToString() =>
            $"N={N} C={C} H={H} W={W} pooled={PooledH}x{PooledW} scale={Scale} rois=[{string.Join(",", Rois)}]";
    }

    private static Gen<Case> Cases(bool distinct) =>
        from n in Gen.Choose(1, 3)
        from c in Gen.Choose(1, 4)
        from h in Gen.Choose(1, 12)
        from w in Gen.Choose(1, 12)
        from ph in Gen.Choose(1, 5)
        from pw in Gen.Choose(1, 5)
        from scale in Gen.Elements(1f, 0.5f, 0.25f, 0.125f, 1f / 3, 0.0625f)
        from r in Gen.Choose(0, 16)
        from seed in Gen.Choose(0, int.MaxValue)
        select Make(n, c, h, w, ph, pw, scale, r, seed, distinct);

    internal static Case Make(int n, int c, int h, int w, int ph, int pw, float scale, int r, int seed, bool distinct)
    {
        var rng = new Random(seed);
        var size = n * c * h * w;
        // Distinct values a quarter apart (for the backward: no ties, room for finite differences),
        // otherwise values with many ties, to check that the first maximum wins like ONNX Runtime's scan.
        var features = distinct
            ? [.. Enumerable.Range(0, size).OrderBy(_ => rng.Next()).Select(v => (v - (size / 2)) * 0.25f)]
            : Enumerable.Range(0, size).Select(_ => rng.Next(4) == 0 ? rng.Next(-3, 3) : (float)(rng.NextDouble() * 20 - 10)).ToArray();
        var rois = new float[5 * r];
        for (var i = 0; i < r; i++)
        {
            // Half a feature cell apart, so x * scale often lands on .5 (half away from zero), or
            // any float; reaching outside the map on both sides; some degenerate (x2 < x1) or tiny.
            float Coordinate(int extent) => rng.Next(3) == 0
                ? (float)((rng.NextDouble() * (extent + 4)) - 2) / scale
                : (rng.Next(-2 * 2, (2 * extent) + (2 * 3)) / 2f) / scale;
            float x1 = Coordinate(w), y1 = Coordinate(h);
            var kind = rng.Next(6);
            var x2 = kind == 0 ? x1 - rng.Next(0, 3) / scale : kind == 1 ? x1 + rng.NextSingle() : Math.Max(x1, Coordinate(w));
            var y2 = kind == 0 ? y1 - rng.Next(0, 3) / scale : kind == 1 ? y1 + rng.NextSingle() : Math.Max(y1, Coordinate(h));
            rois[5 * i] = rng.Next(n);
            rois[5 * i + 1] = x1;
            rois[5 * i + 2] = y1;
            rois[5 * i + 3] = x2;
            rois[5 * i + 4] = y2;
        }

        return new Case(n, c, h, w, ph, pw, scale, features, rois);
    }

    internal static float[] Pooled(Case k)
    {
        var output = new float[k.R * k.C * k.PooledH * k.PooledW];
        RoiPooling.Forward(k.Features, k.N, k.C, k.H, k.W, k.Rois, k.PooledH, k.PooledW, k.Scale, output);
        return output;
    }

    private static float[] HostKernel(Case k)
    {
        var output = new float[k.R * k.C * k.PooledH * k.PooledW];
        RoiMaxPool.Pool(k.Features, k.N, k.C, k.H, k.W, k.Rois, k.PooledH, k.PooledW, k.Scale, output, threads: 1);
        return output;
    }

    private static float[] GradientOf(Case k, float[] gradOutput)
    {
        var grad = new float[k.Features.Length];
        RoiPooling.Backward(k.Features, k.N, k.C, k.H, k.W, k.Rois, k.PooledH, k.PooledW, k.Scale, gradOutput, grad);
        return grad;
    }

    private static bool BitEqual(float[] a, float[] b) =>
        a.Length == b.Length && a.Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.Select(BitConverter.SingleToInt32Bits));

    [Fact]
    public void Forward_equals_the_host_kernel_bit_for_bit() =>
        Properties.Check(Prop.ForAll(Cases(distinct: false).ToArbitrary(), k => BitEqual(Pooled(k), HostKernel(k))), 400);

    [Fact]
    public void Forward_equals_onnx_runtime_MaxRoiPool_bit_for_bit()
    {
        // One session, many RoIs: 2 images of 3 x 13 x 11, pooled 4x3, scale 1/4.
        var k = Make(2, 3, 13, 11, 4, 3, 0.25f, 300, seed: 17, distinct: false);
        var graph = new OnnxGraphBuilder("max_roi_pool");
        graph.Input("features", "N", k.C, "H", "W");
        graph.Input("rois", "R", 5);
        graph.Node("MaxRoiPool", "pool", "pooled", ["features", "rois"],
            OnnxGraphBuilder.Ints("pooled_shape", k.PooledH, k.PooledW), OnnxGraphBuilder.Float("spatial_scale", k.Scale));
        graph.Output("pooled", "R", k.C, k.PooledH, k.PooledW);
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        using var session = OnnxSessions.Create(Google.Protobuf.MessageExtensions.ToByteArray(model));
        var ort = new float[k.R * k.C * k.PooledH * k.PooledW];
        OnnxSessions.Run(
            session,
            new Dictionary<string, (float[], long[])> { ["features"] = (k.Features, [k.N, k.C, k.H, k.W]), ["rois"] = (k.Rois, [k.R, 5]) },
            new Dictionary<string, (float[], long[])> { ["pooled"] = (ort, [k.R, k.C, k.PooledH, k.PooledW]) });

        var pooled = Pooled(k);
        Assert.True(BitEqual(pooled, ort), $"first difference at {Enumerable.Range(0, ort.Length).FirstOrDefault(i => pooled[i] != ort[i])}");
        Assert.Contains(0f, ort); // the case has empty bins (RoIs outside the map)
    }

    [Fact]
    public void Known_answer_rounding_bins_and_empty_bins()
    {
        // A 1x4x4 map of 0..15, scale 0.5. RoI (1, 1, 5, 3): start = round(0.5) = 1, end_w =
        // round(2.5) = 3 (half away from zero), end_h = round(1.5) = 2: 3 wide, 2 tall from (1, 1).
        // Pooled 2x2: bin_w = 1.5 -> x in [1, 3) and [2, 4); bin_h = 1 -> rows 1 and 2.
        var features = Enumerable.Range(0, 16).Select(v => (float)v).ToArray();
        var inside = new Case(1, 1, 4, 4, 2, 2, 0.5f, features, [0, 1, 1, 5, 3]);
        Assert.Equal([6f, 7f, 10f, 11f], Pooled(inside));

        // Wholly right of the map: every bin clips to empty and gives 0, and passes no gradient.
        var outside = inside with { Scale = 1f, Rois = [0, 10, 0, 12, 2] };
        Assert.Equal([0f, 0f, 0f, 0f], Pooled(outside));
        Assert.All(GradientOf(outside, [1f, 1f, 1f, 1f]), g => Assert.Equal(0f, g));

        // Two overlapping RoIs taking the same maximum: their gradients add at that element.
        var overlapping = inside with { PooledH = 1, PooledW = 1, Scale = 1f, Rois = [0, 0, 0, 3, 3, 0, 2, 2, 3, 3] };
        Assert.Equal([15f, 15f], Pooled(overlapping));
        var grad = GradientOf(overlapping, [2f, 3f]);
        Assert.Equal(5f, grad[15]);
        Assert.Equal(5f, grad.Sum());

        // Ties: the first maximum in row-major order takes the gradient (ONNX Runtime's '>' scan, torchvision's argmax).
        var flat = inside with { Features = [.. Enumerable.Repeat(7f, 16)], PooledH = 1, PooledW = 2, Scale = 1f, Rois = [0, 0, 1, 3, 3] };
        Assert.Equal([7f, 7f], Pooled(flat));
        var tied = GradientOf(flat, [1f, 2f]);
        Assert.Equal(1f, tied[4]); // bin x in [0, 2), rows 1..3: first is (y=1, x=0)
        Assert.Equal(2f, tied[6]); // bin x in [2, 4): first is (y=1, x=2)
        Assert.Equal(3f, tied.Sum());
    }

    [Fact]
    public void Backward_equals_a_reference_scatter_at_the_argmax() =>
        Properties.Check(Prop.ForAll(Gen.OneOf(Cases(distinct: true), Cases(distinct: false)).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (k, seed) =>
        {
            var rng = new Random(seed);
            var gradOutput = TestData.Uniform(k.R * k.C * k.PooledH * k.PooledW, rng);
            var expected = PoolingReference.Scatter(k.N, k.C, k.H, k.W, k.Features, k.Rois, k.PooledH, k.PooledW, k.Scale, gradOutput);
            // Sums of the same terms in the same (RoI) order: equal to float rounding at most.
            return TestData.MaxAbsDifference(GradientOf(k, gradOutput), expected) <= 1e-6f;
        }), 200);

    [TorchFact]
    public void Forward_and_backward_equal_torchvision_roi_pool()
    {
        // Random maps and boxes (off-map, degenerate and tiny ones included, ties too), one
        // torchvision process per batch of cases.
        var rng = new Random(12);
        for (var i = 0; i < 40; i++)
        {
            var k = Make(rng.Next(1, 3), rng.Next(1, 4), rng.Next(1, 10), rng.Next(1, 10), rng.Next(1, 4), rng.Next(1, 4),
                new[] { 1f, 0.5f, 0.25f, 1f / 3 }[rng.Next(4)], rng.Next(1, 12), rng.Next(), distinct: i % 2 == 0);
            var g = TestData.Uniform(k.R * k.C * k.PooledH * k.PooledW, rng);
            var (pooled, grad) = TorchReference.RoiPool((k.N, k.C, k.H, k.W), k.PooledH, k.PooledW, k.Scale, k.Features, k.Rois, g);
            Assert.True(BitEqual(Pooled(k), pooled), $"forward differs from torchvision on {k}");
            Assert.True(TestData.MaxAbsDifference(GradientOf(k, g), grad) <= 1e-5f, $"backward differs from torchvision on {k}");
        }
    }

    [Fact]
    public void Backward_equals_finite_differences()
    {
        // Distinct values 0.25 apart: a nudge of 1/16 keeps every bin's argmax, so the pooled loss
        // L = sum(pool(x) * g) is linear there and central differences are exact up to rounding.
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var k = Make(2, 2, 7, 6, 3, 2, 0.5f, 9, seed, distinct: true);
            var g = TestData.Uniform(k.R * k.C * k.PooledH * k.PooledW, new Random(seed));
            var analytic = GradientOf(k, g);
            double Loss(float[] features)
            {
                var pooled = Pooled(k with { Features = features });
                return pooled.Select((v, i) => (double)v * g[i]).Sum();
            }

            const float eps = 1f / 16;
            for (var j = 0; j < k.Features.Length; j++)
            {
                var plus = (float[])k.Features.Clone();
                var minus = (float[])k.Features.Clone();
                plus[j] += eps;
                minus[j] -= eps;
                var numeric = (Loss(plus) - Loss(minus)) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[j]) <= 1e-4, $"seed {seed}, element {j}: numeric {numeric}, analytic {analytic[j]}");
            }
        }
    }

    [Fact]
    public void A_batch_index_out_of_range_comes_back_as_a_TorchException_naming_the_call()
    {
        var features = new float[16];
        var e = Assert.Throws<TorchException>(() => RoiPooling.Forward(features, 1, 1, 4, 4, [3, 0, 0, 2, 2], 2, 2, 1f, new float[4]));
        Assert.Contains("batch index", e.Message, StringComparison.Ordinal);
        Assert.Contains("roi max pool", e.Message, StringComparison.Ordinal);
    }
}
