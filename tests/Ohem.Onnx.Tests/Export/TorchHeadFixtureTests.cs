using Ohem.Onnx.Export;
using Ohem.Onnx.Export.OnnxProto;
using AttributeType = Ohem.Onnx.Export.OnnxProto.AttributeProto.Types.AttributeType;

namespace Ohem.Onnx.Tests.Export;

/// <summary>
/// The model torch.onnx.export writes for the same head and ours take the same named weights,
/// have the same interface and compute the same function (checked here with a test-side
/// evaluator; the ONNX Runtime cross-check lives with the runtime binding).
/// </summary>
public class TorchHeadFixtureTests
{
    private static readonly TorchHeadFixture Fixture = TorchHeadFixture.Load();

    private static ModelProto TorchModel() => ModelProto.Parser.ParseFrom(Fixture.ModelBytes);

    private static ModelProto OurModel() => ModelProto.Parser.ParseFrom(RoiHeadExporter.Export(Fixture.Spec, Fixture.Weights));

    [Fact]
    public void Fixture_is_the_small_head_the_script_describes()
    {
        Assert.Equal(new RoiHeadSpec(4, 3, 2, 0.25f, [16, 12], 3), Fixture.Spec);
        Assert.Equal([2, 4, 10, 12], Fixture.FeaturesShape);
        Assert.Equal(20, Fixture.RoiCount);
        Assert.StartsWith("1.13", Fixture.TorchVersion, StringComparison.Ordinal);
        Assert.StartsWith("0.14", Fixture.TorchvisionVersion, StringComparison.Ordinal);
    }

    [Fact]
    public void Torch_initializers_are_named_and_shaped_as_our_weights()
    {
        var ours = RoiHeadExporter.Weights(Fixture.Spec);
        var torch = TorchModel().Graph.Initializer;

        Assert.Equal(
            ours.Select(w => (w.Name, string.Join(",", w.Shape))).Order(),
            torch.Select(t => (t.Name, string.Join(",", t.Dims))).Order());
        Assert.Equal(ours, Fixture.WeightLayout);
        Assert.All(torch, t => Assert.Equal((int)TensorProto.Types.DataType.Float, t.DataType));
    }

    [Fact]
    public void Fixture_weights_are_the_torch_models_initializers()
    {
        foreach (var tensor in TorchModel().Graph.Initializer)
        {
            Assert.Equal(Fixture.Weights[tensor.Name], OnnxTensors.ReadFloat32(tensor));
        }
    }

    [Fact]
    public void Torch_and_our_models_share_interface_nodes_and_roi_pooling()
    {
        var torch = TorchModel();
        var ours = OurModel();

        Assert.Equal(17, torch.OpsetImport.Single(o => string.IsNullOrEmpty(o.Domain)).Version);
        Assert.Equal(["features", "rois"], torch.Graph.Input.Select(i => i.Name));
        Assert.Equal(["cls_score", "bbox_pred"], torch.Graph.Output.Select(o => o.Name));
        RoiHeadExporterTests.AssertFloatTensor(torch.Graph.Input[0], "N", 4, "H", "W");
        RoiHeadExporterTests.AssertFloatTensor(torch.Graph.Input[1], "R", 5);
        RoiHeadExporterTests.AssertFloatTensor(torch.Graph.Output[0], "R", 4);
        RoiHeadExporterTests.AssertFloatTensor(torch.Graph.Output[1], "R", 16);
        Assert.Equal(torch.Graph.Input, ours.Graph.Input);
        Assert.Equal(torch.Graph.Output, ours.Graph.Output);
        Assert.Equal(torch.Graph.Node.Select(n => n.OpType), ours.Graph.Node.Select(n => n.OpType));

        var pool = Assert.Single(torch.Graph.Node, n => n.OpType == "MaxRoiPool");
        Assert.Equal(["features", "rois"], pool.Input);
        var pooledShape = Assert.Single(pool.Attribute, a => a.Name == "pooled_shape");
        Assert.Equal(AttributeType.Ints, pooledShape.Type);
        Assert.Equal([(long)Fixture.Spec.PooledHeight, Fixture.Spec.PooledWidth], pooledShape.Ints);
        var scale = Assert.Single(pool.Attribute, a => a.Name == "spatial_scale");
        Assert.Equal(AttributeType.Float, scale.Type);
        Assert.Equal(Fixture.Spec.SpatialScale, scale.F);

        foreach (var gemm in torch.Graph.Node.Where(n => n.OpType == "Gemm"))
        {
            var attributes = gemm.Attribute.ToDictionary(a => a.Name);
            Assert.Equal(1, attributes["transB"].I);
            Assert.Equal(0, attributes.TryGetValue("transA", out var transA) ? transA.I : 0);
            Assert.Equal(1f, attributes.TryGetValue("alpha", out var alpha) ? alpha.F : 1f);
            Assert.Equal(1f, attributes.TryGetValue("beta", out var beta) ? beta.F : 1f);
        }
    }

    [Fact]
    public void Our_initializers_are_bit_identical_to_torchs()
    {
        var torch = TorchModel().Graph.Initializer.ToDictionary(t => t.Name);

        foreach (var tensor in OurModel().Graph.Initializer)
        {
            Assert.Equal(torch[tensor.Name].Dims, tensor.Dims);
            Assert.Equal(OnnxTensors.ReadFloat32(torch[tensor.Name]), OnnxTensors.ReadFloat32(tensor));
        }
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("ours")]
    public void Both_graphs_compute_torchs_eager_outputs(string which)
    {
        var model = which == "torch" ? TorchModel() : OurModel();

        var outputs = GraphInterpreter.Run(model, new Dictionary<string, GraphInterpreter.Tensor>
        {
            ["features"] = new(Fixture.Features, Fixture.FeaturesShape),
            ["rois"] = new(Fixture.Rois, [Fixture.RoiCount, 5]),
        });

        AssertClose(Fixture.ExpectedClsScore, outputs["cls_score"].Data, "cls_score");
        AssertClose(Fixture.ExpectedBboxPred, outputs["bbox_pred"].Data, "bbox_pred");
        Assert.Equal([Fixture.RoiCount, Fixture.Spec.ClsScoreWidth], outputs["cls_score"].Shape);
        Assert.Equal([Fixture.RoiCount, Fixture.Spec.BboxPredWidth], outputs["bbox_pred"].Shape);
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            // torch sums in float32 (BLAS order), the evaluator in double: a few ulps of the sums.
            var tolerance = 1e-5f + (1e-5f * Math.Abs(expected[i]));
            Assert.True(
                Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}[{i}] (RoI {i / (actual.Length / Fixture.RoiCount)}) is {actual[i]:R}; torch gives {expected[i]:R}.");
        }
    }
}
