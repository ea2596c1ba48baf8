using FsCheck;
using FsCheck.Fluent;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Onnx.Tests.Engine;
using Ohem.Onnx.Tests.Export;
using Ohem.Testing;

namespace Ohem.Onnx.Tests.Scoring;

/// <summary>
/// RoI pooling on the host (the scorer's CPU path) against the written semantics of MaxRoiPool,
/// and scoring through it against scoring with ONNX Runtime's own pooling.
/// </summary>
public class HostPoolingTests
{
    [Fact]
    public void Host_pooling_equals_the_reference_bit_for_bit_on_one_and_several_threads()
    {
        var cases =
            from c in Gen.Choose(1, 20)
            from h in Gen.Choose(1, 12)
            from w in Gen.Choose(1, 12)
            from ph in Gen.Choose(1, 4)
            from pw in Gen.Choose(1, 4)
            from scale in Gen.Elements(1f, 0.5f, 0.25f, 1f / 3)
            from r in Gen.Elements(1, 5, 70, 130)
            from threads in Gen.Elements(1, 3)
            from seed in Gen.Choose(0, int.MaxValue)
            select (c, h, w, ph, pw, scale, r, threads, seed);
        Properties.Check(Prop.ForAll(cases.ToArbitrary(), k =>
        {
            var rng = new Random(k.seed);
            var features = TestModels.RandomFeatures(2 * k.c * k.h * k.w, k.seed);
            var rois = new float[5 * k.r];
            for (var i = 0; i < k.r; i++)
            {
                float Coordinate(int extent) => rng.Next(-4, 2 * extent + 6) / 2f / k.scale;
                var x1 = Coordinate(k.w);
                var y1 = Coordinate(k.h);
                rois[5 * i] = rng.Next(2);
                rois[5 * i + 1] = x1; rois[5 * i + 2] = y1;
                rois[5 * i + 3] = Math.Max(x1, Coordinate(k.w)); rois[5 * i + 4] = Math.Max(y1, Coordinate(k.h));
            }

            var ours = new float[k.r * k.c * k.ph * k.pw];
            RoiMaxPool.Pool(features, 2, k.c, k.h, k.w, rois, k.ph, k.pw, k.scale, ours, k.threads);
            return ours.SequenceEqual(MaxRoiPoolReference.Pool(features, 2, k.c, k.h, k.w, rois, k.ph, k.pw, k.scale));
        }), 200);
    }

    [Fact]
    public void Scoring_with_host_pooling_equals_scoring_with_onnx_runtimes_pooling()
    {
        var f = TorchHeadFixture.Load();
        var rng = new Random(9);
        var perImage = 50;
        var images = Enumerable.Range(0, 2).Select(_ => new ImageRoiSet(
            [.. Enumerable.Range(0, perImage).SelectMany(_ =>
            {
                float x1 = rng.Next(-8, 60), y1 = rng.Next(-8, 50);
                return new[] { x1, y1, x1 + rng.Next(0, 30), y1 + rng.Next(0, 30) };
            })],
            [.. Enumerable.Range(0, perImage).Select(_ => rng.Next(-1, f.Spec.NumClasses + 1))],
            [.. Enumerable.Range(0, 4 * perImage).Select(_ => (float)(rng.NextDouble() - 0.5))])).ToArray();
        var batch = new ScoringBatch(f.Features, (2, f.Spec.Channels, f.FeaturesShape[2], f.FeaturesShape[3]), images);

        float[] Score(bool onHost)
        {
            var model = ScoringModel.Load(f.ModelBytes);
            Assert.NotNull(model.HostPooling);
            using var store = new WeightsVersionStore(model, sessionOptions: new OnnxSessionOptions { PoolRoisOnHost = onHost });
            store.Install(1, f.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()));
            var result = new RoiScorer(store).Score(batch);
            Assert.Equal(onHost, result.Timings.Pool > TimeSpan.Zero);
            return [.. result.Losses.SelectMany(l => l)];
        }

        var host = Score(onHost: true);
        var ort = Score(onHost: false);
        for (var i = 0; i < host.Length; i++)
        {
            Assert.True(Math.Abs(host[i] - ort[i]) <= 1e-6f * Math.Max(1f, Math.Abs(ort[i])), $"RoI {i}: host {host[i]}, ORT {ort[i]}");
        }
    }

    [Fact]
    public void Only_a_graph_that_pools_features_and_rois_once_is_split()
    {
        var exported = ScoringModel.Load(RoiHeadExporter.Export(TestModels.Tiny, RoiHeadExporter.RandomWeights(TestModels.Tiny, 1)));
        var split = Assert.IsType<HostPooling>(exported.HostPooling);
        Assert.Equal((2, 2, 2, 0.5f), (split.Channels, split.PooledHeight, split.PooledWidth, split.SpatialScale));

        // No pooling node at all: nothing to split; the whole graph runs in ONNX Runtime.
        var graph = new OnnxGraphBuilder("no_pool");
        graph.Input("features", "N", 2, "H", "W");
        graph.Input("rois", "R", 5);
        graph.Node("Identity", "cls", "cls_score", ["rois"]);
        graph.Node("Concat", "box", "bbox_pred", ["rois", "rois", "rois", "rois"], OnnxGraphBuilder.Int("axis", 1));
        graph.Output("cls_score", "R", 5);
        graph.Output("bbox_pred", "R", 20);
        var noPool = ScoringModel.Load(TestModels.Bytes(graph.Graph));
        Assert.Equal(4, noPool.NumClasses);
        Assert.Null(noPool.HostPooling);
    }
}
