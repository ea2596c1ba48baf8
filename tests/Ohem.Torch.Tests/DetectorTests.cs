using Ohem.Onnx.Export;

namespace Ohem.Torch.Tests;

/// <summary>Construction: options checks, parameter names and shapes, seeded initialisation, the backbone.</summary>
public class DetectorTests
{
    [Fact]
    public void Parameters_are_the_backbone_convs_then_exactly_the_exporters_head_weights()
    {
        var options = new DetectorOptions();
        using var detector = Detector.Create(options);
        var names = detector.Parameters.Select(p => p.ToString()).ToList();
        Assert.Equal(
            ["backbone.conv1.weight [32, 1, 3, 3]", "backbone.conv1.bias [32]", "backbone.conv2.weight [64, 32, 3, 3]",
             "backbone.conv2.bias [64]", "backbone.conv3.weight [64, 64, 3, 3]", "backbone.conv3.bias [64]"],
            names.Take(6));
        var head = RoiHeadExporter.Weights(TestData.Spec(options));
        Assert.Equal(head.Select(w => $"{w.Name} {w.ShapeText}"), names.Skip(6));
        Assert.Equal(head.Select(w => w.Name).Order(StringComparer.Ordinal), detector.HeadWeights().Keys.Order(StringComparer.Ordinal));
        Assert.All(detector.HeadWeights(), kv => Assert.Equal(head.Single(w => w.Name == kv.Key).ElementCount, kv.Value.Length));
    }

    public static TheoryData<DetectorOptions, string> BadOptions => new()
    {
        { new DetectorOptions { InputChannels = 0 }, "InputChannels" },
        { new DetectorOptions { BackboneChannels = [] }, "BackboneChannels" },
        { new DetectorOptions { BackboneChannels = [8, 0, 8] }, "BackboneChannels[1]" },
        { new DetectorOptions { Stride = 6 }, "Stride" },
        { new DetectorOptions { Stride = 0 }, "Stride" },
        { new DetectorOptions { Stride = 16 }, "Stride" }, // needs 4 convs, the default has 3
        { new DetectorOptions { PooledSize = 0 }, "PooledSize" },
        { new DetectorOptions { HiddenSizes = [256, -1] }, "HiddenSizes[1]" },
        { new DetectorOptions { NumClasses = 0 }, "NumClasses" },
        { new DetectorOptions { Momentum = 1f }, "Momentum" },
        { new DetectorOptions { Momentum = float.NaN }, "Momentum" },
        { new DetectorOptions { WeightDecay = -1e-4f }, "WeightDecay" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Create_rejects_bad_options_naming_the_field(DetectorOptions options, string field)
    {
        var e = Assert.Throws<ArgumentException>(() => Detector.Create(options));
        Assert.Equal(field, e.ParamName);
        Assert.StartsWith($"DetectorOptions.{field} ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stride_16_with_four_convs_and_no_hidden_layers_is_valid()
    {
        using var detector = Detector.Create(new DetectorOptions { BackboneChannels = [4, 4, 4, 4], Stride = 16, HiddenSizes = [] });
        Assert.Equal("cls_score.weight [11, 196]", detector.Parameters[8].ToString());
        using var features = detector.Backbone(new float[2 * 70 * 33], 2, 70, 33);
        Assert.Equal((2, 4, 4, 2), (features.Count, features.Channels, features.Height, features.Width)); // floor at each pool
    }

    [Fact]
    public void Initialisation_is_seeded_torch_default_for_convs_and_fc_and_fast_rcnn_for_the_outputs()
    {
        using var a = Detector.Create(new DetectorOptions { Seed = 3 });
        using var b = Detector.Create(new DetectorOptions { Seed = 3 });
        using var c = Detector.Create(new DetectorOptions { Seed = 4 });
        foreach (var p in a.Parameters)
        {
            Assert.Equal(a.Parameter(p.Name), b.Parameter(p.Name));
            if (p.Name is not ("cls_score.bias" or "bbox_pred.bias")) // zeros whatever the seed
            {
                Assert.NotEqual(a.Parameter(p.Name), c.Parameter(p.Name));
            }
        }

        // torch's default for Conv2d and Linear: weight and bias uniform in ±1/sqrt(fan_in) (std = bound/sqrt 3).
        foreach (var (name, fanIn) in new[] { ("backbone.conv2.weight", 32 * 9), ("backbone.conv2.bias", 32 * 9), ("fc6.weight", 64 * 49), ("fc7.bias", 128) })
        {
            var values = a.Parameter(name);
            var bound = 1f / MathF.Sqrt(fanIn);
            Assert.All(values, v => Assert.InRange(MathF.Abs(v), 0f, bound));
            Assert.InRange(Std(values), 0.85 * bound / Math.Sqrt(3), 1.15 * bound / Math.Sqrt(3));
        }

        Assert.InRange(Std(a.Parameter("cls_score.weight")), 0.0095, 0.0105);
        Assert.InRange(Std(a.Parameter("bbox_pred.weight")), 0.00095, 0.00105);
        Assert.All(a.Parameter("cls_score.bias"), v => Assert.Equal(0f, v));
        Assert.All(a.Parameter("bbox_pred.bias"), v => Assert.Equal(0f, v));
    }

    private static double Std(float[] values)
    {
        var mean = values.Average(v => (double)v);
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }

    [Fact]
    public void Backbone_known_answer_conv_pad_1_relu_then_2x2_max_pool()
    {
        // One 3x3 conv whose kernel is 1 at the centre and 1 at the left neighbour (cross-correlation:
        // out(y, x) = in(y, x) + in(y, x - 1), zero padding), bias -10, then ReLU and one 2x2 pool.
        using var detector = Detector.Create(new DetectorOptions { BackboneChannels = [1], Stride = 2, HiddenSizes = [], NumClasses = 1, PooledSize = 1 });
        detector.SetParameter("backbone.conv1.weight", [0, 0, 0, 1, 1, 0, 0, 0, 0]);
        detector.SetParameter("backbone.conv1.bias", [-10f]);
        var image = Enumerable.Range(0, 4 * 5).Select(v => (float)v).ToArray(); // 4 rows x 5 columns, value = 5y + x
        using var features = detector.Backbone(image, 1, 4, 5);
        Assert.Equal((1, 1, 2, 2), (features.Count, features.Channels, features.Height, features.Width));
        float Conv(int y, int x) => MathF.Max(0f, (5 * y) + x + (x > 0 ? (5 * y) + x - 1 : 0) - 10f);
        float Pool(int py, int px) => new[] { Conv(2 * py, 2 * px), Conv(2 * py, 2 * px + 1), Conv(2 * py + 1, 2 * px), Conv(2 * py + 1, 2 * px + 1) }.Max();
        Assert.Equal([Pool(0, 0), Pool(0, 1), Pool(1, 0), Pool(1, 1)], features.ToArray());
        Assert.Equal([1f, 5f, 21f, 25f], features.ToArray()); // e.g. the first cell: Conv(1, 1) = 6 + 5 - 10
    }
}
