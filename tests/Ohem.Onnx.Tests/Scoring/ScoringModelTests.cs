using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Onnx.Tests.Engine;
using Ohem.Onnx.Tests.Export;

namespace Ohem.Onnx.Tests.Scoring;

public class ScoringModelTests
{
    [Fact]
    public void The_torch_model_meets_the_contract_and_lists_its_weights()
    {
        var f = TorchHeadFixture.Load();
        var model = ScoringModel.Load(f.ModelBytes);
        Assert.Equal(f.Spec.NumClasses, model.NumClasses);
        Assert.Equal(f.Spec.Channels, model.Channels);
        Assert.Equal(RoiHeadExporter.Weights(f.Spec).Select(w => (w.Name, string.Join(",", w.Shape))),
                     model.Weights.Select(w => (w.Name, string.Join(",", w.Shape))));
    }

    [Fact]
    public void A_declared_class_count_must_agree_with_the_outputs()
    {
        var bytes = RoiHeadExporter.Export(TestModels.Tiny, RoiHeadExporter.RandomWeights(TestModels.Tiny, 2));
        Assert.Equal(3, ScoringModel.Load(bytes, numClasses: 3).NumClasses);
        var e = Assert.Throws<InvalidModelException>(() => ScoringModel.Load(bytes, numClasses: 5));
        Assert.Contains("implies 3 classes; 5 were declared", e.Message);
    }

    [Fact]
    public void Corrupt_bytes_are_an_invalid_model() =>
        Assert.Contains("cannot load", Assert.Throws<InvalidModelException>(() => ScoringModel.Load([1, 2, 3])).Message);

    [Fact]
    public void A_missing_input_is_named()
    {
        var bytes = TestModels.Passthrough(
            [("features", ["N", 2, "H", "W"]), ("scores", ["R", 4]), ("deltas", ["R", 16])],
            [("cls_score", "scores", ["R", 4]), ("bbox_pred", "deltas", ["R", 16])]);
        var e = Assert.Throws<InvalidModelException>(() => ScoringModel.Load(bytes));
        Assert.Contains("no input named \"rois\"", e.Message);
    }

    [Fact]
    public void An_unexpected_input_is_named()
    {
        var bytes = TestModels.Passthrough(
            [("features", ["N", 2, "H", "W"]), ("rois", ["R", 5]), ("scores", ["R", 4]), ("deltas", ["R", 16])],
            [("cls_score", "scores", ["R", 4]), ("bbox_pred", "deltas", ["R", 16])]);
        var e = Assert.Throws<InvalidModelException>(() => ScoringModel.Load(bytes));
        Assert.Contains("unexpected input \"scores\"", e.Message);
    }

    [Fact]
    public void A_missing_output_and_a_wrong_rank_are_named()
    {
        var noBox = TestModels.Passthrough([("features", ["N", 2, "H", "W"]), ("rois", ["R", 5])], [("cls_score", "rois", ["R", 5])]);
        Assert.Contains("no output named \"bbox_pred\"", Assert.Throws<InvalidModelException>(() => ScoringModel.Load(noBox)).Message);

        var rank3 = TestModels.Passthrough(
            [("features", ["N", 2, "H"]), ("rois", ["R", 5])],
            [("cls_score", "rois", ["R", 5]), ("bbox_pred", "rois", ["R", 5])]);
        var e = Assert.Throws<InvalidModelException>(() => ScoringModel.Load(rank3));
        Assert.Contains("\"features\"", e.Message);
        Assert.Contains("rank 4", e.Message);
    }

    [Fact]
    public void A_wrong_element_type_is_named()
    {
        var graph = new OnnxGraphBuilder("int_rois");
        graph.Input("features", "N", 2, "H", "W");
        graph.Input("rois", "R", 5);
        graph.Graph.Input[1].Type.TensorType.ElemType = (int)Ohem.Onnx.Export.OnnxProto.TensorProto.Types.DataType.Int64;
        graph.Node("Cast", "to_float", "rois_f", ["rois"], OnnxGraphBuilder.Int("to", 1));
        graph.Node("Identity", "cls", "cls_score", ["rois_f"]);
        graph.Node("Concat", "box", "bbox_pred", ["rois_f", "rois_f", "rois_f", "rois_f"], OnnxGraphBuilder.Int("axis", 1));
        graph.Output("cls_score", "R", 5);
        graph.Output("bbox_pred", "R", 20);
        var e = Assert.Throws<InvalidModelException>(() => ScoringModel.Load(TestModels.Bytes(graph.Graph)));
        Assert.Contains("\"rois\" is rois: Int64", e.Message);
        Assert.Contains("expected float32", e.Message);
    }

    [Fact]
    public void Rois_must_have_five_columns_and_bbox_pred_four_per_class()
    {
        var sixColumns = TestModels.Passthrough(
            [("features", ["N", 2, "H", "W"]), ("rois", ["R", 6])],
            [("cls_score", "rois", ["R", 6]), ("bbox_pred", "rois", ["R", 6])]);
        Assert.Contains("expected 5", Assert.Throws<InvalidModelException>(() => ScoringModel.Load(sixColumns)).Message);
    }
}
