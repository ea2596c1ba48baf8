using FsCheck;
using FsCheck.Fluent;
using Ohem.Onnx.Export;
using Ohem.Onnx.Export.OnnxProto;
using Ohem.Testing;

namespace Ohem.Onnx.Tests.Engine;

/// <summary>
/// ONNX Runtime's MaxRoiPool against the written-out semantics of ANCHORS.md: the trainer's RoI
/// pooling reproduces that description, so the two must agree bit for bit.
/// </summary>
public class MaxRoiPoolTests
{
    internal sealed record Case(int N, int C, int H, int W, int PooledH, int PooledW, float Scale, float[] Features, float[] Rois)
    {
        public override string ToString() =>
            $"N={N} C={C} H={H} W={W} pooled={PooledH}x{PooledW} scale={Scale} rois=[{string.Join(",", Rois)}]";
    }

    private static Gen<Case> Cases =>
        from n in Gen.Choose(1, 2)
        from c in Gen.Choose(1, 3)
        from h in Gen.Choose(1, 9)
        from w in Gen.Choose(1, 9)
        from ph in Gen.Choose(1, 4)
        from pw in Gen.Choose(1, 4)
        from scale in Gen.Elements(1f, 0.5f, 0.25f, 0.125f, 1f / 3)
        from r in Gen.Choose(1, 12)
        from seed in Gen.Choose(0, int.MaxValue)
        select Make(n, c, h, w, ph, pw, scale, r, seed);

    private static Case Make(int n, int c, int h, int w, int ph, int pw, float scale, int r, int seed)
    {
        var rng = new Random(seed);
        var features = Enumerable.Range(0, n * c * h * w).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray();
        var rois = new float[5 * r];
        for (var i = 0; i < r; i++)
        {
            // Coordinates on a grid of halves of a feature cell, so x * scale lands on .5 often
            // (rounding half away from zero), reaching outside the map on both sides.
            float Coordinate(int extent) => (rng.Next(-2 * 2, 2 * extent + 2 * 3) / 2f) / scale;
            var x1 = Coordinate(w);
            var y1 = Coordinate(h);
            var degenerate = rng.Next(5) == 0;
            var x2 = degenerate ? x1 : Math.Max(x1, Coordinate(w));
            var y2 = degenerate ? y1 : Math.Max(y1, Coordinate(h));
            rois[5 * i] = rng.Next(n);
            rois[5 * i + 1] = x1; rois[5 * i + 2] = y1; rois[5 * i + 3] = x2; rois[5 * i + 4] = y2;
        }

        return new Case(n, c, h, w, ph, pw, scale, features, rois);
    }

    private static byte[] PoolOnlyModel(int c, int pooledH, int pooledW, float scale)
    {
        var graph = new OnnxGraphBuilder("max_roi_pool");
        graph.Input("features", "N", c, "H", "W");
        graph.Input("rois", "R", 5);
        graph.Node("MaxRoiPool", "pool", "pooled", ["features", "rois"],
            OnnxGraphBuilder.Ints("pooled_shape", pooledH, pooledW), OnnxGraphBuilder.Float("spatial_scale", scale));
        graph.Output("pooled", "R", c, pooledH, pooledW);
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }

    private static float[] RunOrt(Case k)
    {
        var r = k.Rois.Length / 5;
        var pooled = new float[r * k.C * k.PooledH * k.PooledW];
        using var session = OnnxSessions.Create(PoolOnlyModel(k.C, k.PooledH, k.PooledW, k.Scale));
        OnnxSessions.Run(session,
            new Dictionary<string, (float[], long[])> { ["features"] = (k.Features, [k.N, k.C, k.H, k.W]), ["rois"] = (k.Rois, [r, 5]) },
            new Dictionary<string, (float[], long[])> { ["pooled"] = (pooled, [r, k.C, k.PooledH, k.PooledW]) });
        return pooled;
    }

    [Fact]
    public void Onnx_runtime_matches_the_written_semantics_bit_for_bit() =>
        Properties.Check(Prop.ForAll(Cases.ToArbitrary(), k =>
            RunOrt(k).SequenceEqual(MaxRoiPoolReference.Pool(k.Features, k.N, k.C, k.H, k.W, k.Rois, k.PooledH, k.PooledW, k.Scale))), 300);

    [Fact]
    public void Known_answer_rounding_bins_and_empty_bins()
    {
        // One 1x4x4 map with values 0..15; scale 0.5. RoI (1, 1, 5, 3): start = round(0.5) = 1,
        // end_w = round(2.5) = 3 (half away from zero), end_h = round(1.5) = 2: a 3-wide, 2-tall RoI
        // from (x=1, y=1). Pooled 2x2: bin_w = 1.5 -> x bins [1,3) and [2,4); bin_h = 1 -> y 1, 2.
        var features = Enumerable.Range(0, 16).Select(v => (float)v).ToArray();
        var k = new Case(1, 1, 4, 4, 2, 2, 0.5f, features, [0, 1, 1, 5, 3]);
        float[] expected = [6, 7, 10, 11]; // max of rows 1 and 2 over x in [1,3) and [2,4)
        Assert.Equal(expected, RunOrt(k));
        Assert.Equal(expected, MaxRoiPoolReference.Pool(features, 1, 1, 4, 4, [0, 1, 1, 5, 3], 2, 2, 0.5f));

        // A RoI entirely right of the map: every bin clips to empty and gives 0.
        var outside = new Case(1, 1, 4, 4, 2, 2, 1f, features, [0, 10, 0, 12, 2]);
        Assert.Equal([0f, 0f, 0f, 0f], RunOrt(outside));
    }
}
