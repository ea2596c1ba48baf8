using Ohem.Onnx.Export;

namespace Ohem.Onnx.Tests.Export;

public class RoiHeadSpecTests
{
    private static RoiHeadSpec Small() => new(4, 3, 2, 0.25f, [16, 12], 3);

    [Fact]
    public void Weights_follow_fast_rcnn_names_and_linear_layout()
    {
        // C * ph * pw = 4 * 3 * 2 = 24; K + 1 = 4; 4 (K + 1) = 16.
        var expected = new (string Name, int[] Shape)[]
        {
            ("fc6.weight", [16, 24]), ("fc6.bias", [16]),
            ("fc7.weight", [12, 16]), ("fc7.bias", [12]),
            ("cls_score.weight", [4, 12]), ("cls_score.bias", [4]),
            ("bbox_pred.weight", [16, 12]), ("bbox_pred.bias", [16]),
        };

        var weights = RoiHeadExporter.Weights(Small());

        Assert.Equal(expected.Select(e => e.Name), weights.Select(w => w.Name));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Shape, weights[i].Shape);
            Assert.Equal(expected[i].Shape.Aggregate(1, (a, b) => a * b), weights[i].ElementCount);
        }

        Assert.Equal((16 * 24) + 16 + (12 * 16) + 12 + (4 * 12) + 4 + (16 * 12) + 16, Small().ParameterCount);
    }

    [Fact]
    public void Three_hidden_layers_are_fc6_fc7_fc8()
    {
        var weights = RoiHeadExporter.Weights(new RoiHeadSpec(2, 2, 2, 1f, [5, 6, 7], 1));

        Assert.Equal(
            ["fc6.weight", "fc6.bias", "fc7.weight", "fc7.bias", "fc8.weight", "fc8.bias",
             "cls_score.weight", "cls_score.bias", "bbox_pred.weight", "bbox_pred.bias"],
            weights.Select(w => w.Name));
        Assert.Equal([5, 8], weights[0].Shape);
        Assert.Equal([7, 6], weights[4].Shape);
        Assert.Equal([2, 7], weights[6].Shape);
        Assert.Equal([8, 7], weights[8].Shape);
    }

    [Fact]
    public void No_hidden_layer_puts_the_classifier_on_the_pooled_features()
    {
        var spec = new RoiHeadSpec(3, 2, 2, 0.5f, [], 20);

        var weights = RoiHeadExporter.Weights(spec);

        Assert.Equal(["cls_score.weight", "cls_score.bias", "bbox_pred.weight", "bbox_pred.bias"], weights.Select(w => w.Name));
        Assert.Equal([21, 12], weights[0].Shape);
        Assert.Equal([84, 12], weights[2].Shape);
        Assert.Equal(12, spec.LastHiddenSize);
    }

    [Fact]
    public void Derived_widths()
    {
        var spec = new RoiHeadSpec(512, 7, 7, 1f / 16, [4096, 4096], 20);

        Assert.Equal(25088, spec.PooledFeatureSize);
        Assert.Equal(4096, spec.LastHiddenSize);
        Assert.Equal(21, spec.ClsScoreWidth);
        Assert.Equal(84, spec.BboxPredWidth);
        // VGG16's Fast R-CNN head: fc6 102.8M + fc7 16.8M + cls 86k + bbox 344k parameters.
        Assert.Equal((4096L * 25088) + 4096 + (4096L * 4096) + 4096 + (21 * 4096) + 21 + (84 * 4096) + 84, spec.ParameterCount);
    }

    public static TheoryData<Func<RoiHeadSpec>, string> InvalidSpecs => new()
    {
        { () => new RoiHeadSpec(0, 3, 3, 1f, [8], 2), "Channels" },
        { () => new RoiHeadSpec(4, -1, 3, 1f, [8], 2), "PooledHeight" },
        { () => new RoiHeadSpec(4, 3, 0, 1f, [8], 2), "PooledWidth" },
        { () => new RoiHeadSpec(4, 3, 3, 0f, [8], 2), "SpatialScale" },
        { () => new RoiHeadSpec(4, 3, 3, -0.25f, [8], 2), "SpatialScale" },
        { () => new RoiHeadSpec(4, 3, 3, float.NaN, [8], 2), "SpatialScale" },
        { () => new RoiHeadSpec(4, 3, 3, float.PositiveInfinity, [8], 2), "SpatialScale" },
        { () => new RoiHeadSpec(4, 3, 3, 1f, [8, 0], 2), "HiddenSizes" },
        { () => new RoiHeadSpec(4, 3, 3, 1f, null!, 2), "HiddenSizes" },
        { () => new RoiHeadSpec(4, 3, 3, 1f, [8], 0), "NumClasses" },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void Invalid_specs_are_rejected_naming_the_argument(Func<RoiHeadSpec> create, string argument)
    {
        var error = Assert.ThrowsAny<ArgumentException>(create);

        Assert.Equal(argument, error.ParamName);
    }

    [Fact]
    public void A_weight_larger_than_an_array_is_rejected_at_construction()
    {
        var error = Assert.Throws<ArgumentException>(() => new RoiHeadSpec(4096, 32, 32, 1f, [65536], 2));

        Assert.Contains("fc6.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hidden_sizes_are_copied_and_compared_by_value()
    {
        var sizes = new List<int> { 16, 12 };
        var spec = new RoiHeadSpec(4, 3, 3, 0.25f, sizes, 3);
        sizes[0] = 99;

        Assert.Equal([16, 12], spec.HiddenSizes);
        Assert.Equal(new RoiHeadSpec(4, 3, 3, 0.25f, [16, 12], 3), spec);
        Assert.Equal(new RoiHeadSpec(4, 3, 3, 0.25f, [16, 12], 3).GetHashCode(), spec.GetHashCode());
        Assert.NotEqual(new RoiHeadSpec(4, 3, 3, 0.25f, [12, 16], 3), spec);
        Assert.Contains("HiddenSizes = [16, 12]", spec.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Weight_spec_copies_its_shape_and_counts_elements()
    {
        var shape = new[] { 4, 12 };
        var weight = new WeightSpec("cls_score.weight", shape);
        shape[0] = 5;

        Assert.Equal([4, 12], weight.Shape);
        Assert.Equal(48, weight.ElementCount);
        Assert.Equal("[4, 12]", weight.ShapeText);
        Assert.Equal(new WeightSpec("cls_score.weight", [4, 12]), weight);
        Assert.NotEqual(new WeightSpec("cls_score.weight", [12, 4]), weight);
        Assert.Equal(1, new WeightSpec("scalar", []).ElementCount);
        Assert.Throws<ArgumentException>(() => new WeightSpec("w", [3, 0]));
        Assert.Throws<ArgumentException>(() => new WeightSpec("", [3]));
        Assert.Throws<ArgumentException>(() => new WeightSpec("w", [65536, 65536]));
    }
}
