using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Ohem.Onnx.Export;
using Ohem.Onnx.Export.OnnxProto;
using Ohem.Testing;
using DataType = Ohem.Onnx.Export.OnnxProto.TensorProto.Types.DataType;
using AttributeType = Ohem.Onnx.Export.OnnxProto.AttributeProto.Types.AttributeType;

namespace Ohem.Onnx.Tests.Export;

public class RoiHeadExporterTests
{
    // C = 4, pooled 3 x 2, hidden [16, 12], K = 3: fc6 fan-in 24, K + 1 = 4, 4 (K + 1) = 16.
    private static readonly RoiHeadSpec Spec = new(4, 3, 2, 0.0625f, [16, 12], 3);

    private static readonly (string Name, long[] Dims)[] ExpectedInitializers =
    [
        ("fc6.weight", [16, 24]), ("fc6.bias", [16]),
        ("fc7.weight", [12, 16]), ("fc7.bias", [12]),
        ("cls_score.weight", [4, 12]), ("cls_score.bias", [4]),
        ("bbox_pred.weight", [16, 12]), ("bbox_pred.bias", [16]),
    ];

    /// <summary>Distinct, awkward values per tensor: -0, the smallest subnormal, the largest float, pi-ish fractions.</summary>
    private static Dictionary<string, float[]> DistinctWeights() =>
        ExpectedInitializers.Select((w, t) => (w.Name, Values: Enumerable.Range(0, (int)w.Dims.Aggregate(1L, (a, b) => a * b))
            .Select(i => (i % 7) switch
            {
                0 => -0f,
                1 => float.Epsilon,
                2 => float.MaxValue,
                3 => -float.MaxValue,
                _ => (t + 1) * 1000f + i + (1f / 3f),
            }).ToArray()))
        .ToDictionary(w => w.Name, w => w.Values, StringComparer.Ordinal);

    private static ModelProto ExportAndParse(RoiHeadSpec spec, IReadOnlyDictionary<string, float[]> weights) =>
        ModelProto.Parser.ParseFrom(RoiHeadExporter.Export(spec, weights));

    [Fact]
    public void Model_header_is_ir8_opset17_by_ohem_service()
    {
        var model = ExportAndParse(Spec, DistinctWeights());

        Assert.Equal(8, model.IrVersion);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal(string.Empty, opset.Domain);
        Assert.Equal(17, opset.Version);
        Assert.Equal("OhemService", model.ProducerName);
    }

    [Fact]
    public void Inputs_and_outputs_are_the_scoring_model_contract()
    {
        var graph = ExportAndParse(Spec, DistinctWeights()).Graph;

        Assert.Equal(["features", "rois"], graph.Input.Select(i => i.Name));
        AssertFloatTensor(graph.Input[0], "N", 4, "H", "W");
        AssertFloatTensor(graph.Input[1], "R", 5);
        Assert.Equal(["cls_score", "bbox_pred"], graph.Output.Select(o => o.Name));
        AssertFloatTensor(graph.Output[0], "R", 4);
        AssertFloatTensor(graph.Output[1], "R", 16);
    }

    [Fact]
    public void Nodes_are_roi_pool_flatten_then_gemm_relu_per_hidden_layer_then_two_heads()
    {
        var nodes = ExportAndParse(Spec, DistinctWeights()).Graph.Node;

        Assert.Equal(["MaxRoiPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Gemm"], nodes.Select(n => n.OpType));
        Assert.All(nodes, n => Assert.False(n.HasDomain && n.Domain.Length > 0, $"{n.Name} has domain {n.Domain}"));

        var pool = nodes[0];
        Assert.Equal(["features", "rois"], pool.Input);
        Assert.Equal(2, pool.Attribute.Count);
        var pooledShape = Assert.Single(pool.Attribute, a => a.Name == "pooled_shape");
        Assert.Equal(AttributeType.Ints, pooledShape.Type);
        Assert.Equal([3L, 2L], pooledShape.Ints);
        var scale = Assert.Single(pool.Attribute, a => a.Name == "spatial_scale");
        Assert.Equal(AttributeType.Float, scale.Type);
        Assert.Equal(0.0625f, scale.F);

        var flatten = nodes[1];
        Assert.Equal(pool.Output, flatten.Input);
        var axis = Assert.Single(flatten.Attribute);
        Assert.Equal(("axis", AttributeType.Int, 1L), (axis.Name, axis.Type, axis.I));

        // Each Gemm reads the previous value and its layer's weight and bias, with transB = 1.
        var chain = new[] { (2, "fc6"), (4, "fc7"), (6, "cls_score"), (7, "bbox_pred") };
        foreach (var (index, layer) in chain)
        {
            var gemm = nodes[index];
            var previous = index == 7 ? nodes[5] : nodes[index - 1];
            Assert.Equal([previous.Output[0], $"{layer}.weight", $"{layer}.bias"], gemm.Input);
            var transB = Assert.Single(gemm.Attribute);
            Assert.Equal(("transB", AttributeType.Int, 1L), (transB.Name, transB.Type, transB.I));
        }

        Assert.Equal(nodes[2].Output, nodes[3].Input);
        Assert.Equal(nodes[4].Output, nodes[5].Input);
        Assert.Equal(["cls_score"], nodes[6].Output);
        Assert.Equal(["bbox_pred"], nodes[7].Output);
        Assert.Equal(nodes.Count, nodes.SelectMany(n => n.Output).Distinct().Count());
    }

    [Fact]
    public void Initializers_are_raw_little_endian_float32_that_round_trip_bit_exactly()
    {
        var weights = DistinctWeights();

        var initializers = ExportAndParse(Spec, weights).Graph.Initializer;

        Assert.Equal(ExpectedInitializers.Select(w => w.Name), initializers.Select(t => t.Name));
        foreach (var (name, dims) in ExpectedInitializers)
        {
            var tensor = initializers.Single(t => t.Name == name);
            Assert.Equal((int)DataType.Float, tensor.DataType);
            Assert.Equal(dims, tensor.Dims);
            Assert.Empty(tensor.FloatData);
            Assert.False(tensor.HasDataLocation);
            var expected = weights[name];
            Assert.Equal(expected.Length * 4, tensor.RawData.Length);
            var raw = tensor.RawData.Span;
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]));
            }
        }
    }

    [Fact]
    public void Export_is_deterministic()
    {
        var weights = RoiHeadExporter.RandomWeights(Spec, seed: 7);

        Assert.Equal(RoiHeadExporter.Export(Spec, weights), RoiHeadExporter.Export(Spec, weights));
    }

    [Fact]
    public void A_missing_weight_is_named_with_its_shape()
    {
        var weights = DistinctWeights();
        weights.Remove("fc7.weight");

        var error = Assert.Throws<ArgumentException>(() => RoiHeadExporter.Export(Spec, weights));

        Assert.Equal("weights", error.ParamName);
        Assert.Contains("'fc7.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("[12, 16]", error.Message, StringComparison.Ordinal);
        Assert.Contains("192", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelled_weight_is_reported_as_missing_and_hints_at_the_stray_name()
    {
        var weights = DistinctWeights();
        weights["fc6.weights"] = weights["fc6.weight"];
        weights.Remove("fc6.weight");

        var error = Assert.Throws<ArgumentException>(() => RoiHeadExporter.Export(Spec, weights));

        Assert.Contains("'fc6.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'fc6.weights'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_extra_weight_is_named()
    {
        var weights = DistinctWeights();
        weights["fc8.weight"] = new float[12 * 12];

        var error = Assert.Throws<ArgumentException>(() => RoiHeadExporter.Export(Spec, weights));

        Assert.Equal("weights", error.ParamName);
        Assert.Contains("'fc8.weight'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fc6.weight", 16 * 24 - 1, "[16, 24]")]
    [InlineData("cls_score.bias", 5, "[4]")]
    [InlineData("bbox_pred.weight", 12 * 16 * 2, "[16, 12]")]
    public void A_wrongly_sized_weight_is_named_with_its_expected_shape(string name, int length, string shape)
    {
        var weights = DistinctWeights();
        weights[name] = new float[length];

        var error = Assert.Throws<ArgumentException>(() => RoiHeadExporter.Export(Spec, weights));

        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"has {length} values", error.Message, StringComparison.Ordinal);
        Assert.Contains(shape, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_weight_array_is_named()
    {
        var weights = DistinctWeights();
        weights["fc6.bias"] = null!;

        var error = Assert.Throws<ArgumentException>(() => RoiHeadExporter.Export(Spec, weights));

        Assert.Contains("'fc6.bias'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fc6.weight", 0, float.NaN)]
    [InlineData("fc7.bias", 11, float.PositiveInfinity)]
    [InlineData("bbox_pred.weight", 100, float.NegativeInfinity)]
    public void A_non_finite_weight_is_named_with_its_first_bad_index(string name, int index, float value)
    {
        var weights = DistinctWeights();
        weights[name][index] = value;
        weights[name][^1] = float.NaN;

        var error = Assert.Throws<ArgumentException>(() => RoiHeadExporter.Export(Spec, weights));

        Assert.Contains($"'{name}'][{index}]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_arguments_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => RoiHeadExporter.Export(null!, DistinctWeights()));
        Assert.Throws<ArgumentNullException>(() => RoiHeadExporter.Export(Spec, null!));
        Assert.Throws<ArgumentNullException>(() => RoiHeadExporter.Weights(null!));
    }

    [Fact]
    public void Random_weights_are_deterministic_and_bounded_by_the_fan_in()
    {
        var a = RoiHeadExporter.RandomWeights(Spec, seed: 1);
        var b = RoiHeadExporter.RandomWeights(Spec, seed: 1);
        var c = RoiHeadExporter.RandomWeights(Spec, seed: 2);
        var scaled = RoiHeadExporter.RandomWeights(Spec, seed: 1, scale: 0.5f);

        var fanIn = new Dictionary<string, int>
        {
            ["fc6"] = 24, ["fc7"] = 16, ["cls_score"] = 12, ["bbox_pred"] = 12,
        };
        Assert.Equal(ExpectedInitializers.Select(w => w.Name).Order(StringComparer.Ordinal), a.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, values) in a)
        {
            Assert.Equal(b[name], values);
            Assert.NotEqual(c[name], values);
            var bound = 1f / MathF.Sqrt(fanIn[name[..name.IndexOf('.', StringComparison.Ordinal)]]);
            Assert.All(values, v => Assert.InRange(v, -bound, bound));
            Assert.True(values.Distinct().Count() > values.Length / 2, $"{name} has few distinct values");
            Assert.Equal(values.Select(v => v * 0.5f), scaled[name]);
        }

        Assert.NotEmpty(RoiHeadExporter.Export(Spec, a));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoiHeadExporter.RandomWeights(Spec, 1, float.NaN));
    }

    [Fact]
    public void The_exported_graph_computes_the_head()
    {
        // One RoI over a 1-channel 4 x 4 map, pooled 2 x 2, no hidden layer: the expected outputs
        // are worked out by hand from the weights.
        var spec = new RoiHeadSpec(1, 2, 2, 0.5f, [], 1);
        var weights = new Dictionary<string, float[]>
        {
            // cls_score [2, 4], bbox_pred [8, 4] over the pooled bins (b00, b01, b10, b11).
            ["cls_score.weight"] = [1, 0, 0, 0, 0, 1, 1, 1],
            ["cls_score.bias"] = [0.5f, -1],
            ["bbox_pred.weight"] = [.. Enumerable.Range(0, 32).Select(i => i % 5 == 0 ? 1f : 0f)],
            ["bbox_pred.bias"] = [.. Enumerable.Range(0, 8).Select(i => (float)i)],
        };
        float[] features = [.. Enumerable.Range(0, 16).Select(i => (float)i)];
        // Image box (0, 0)-(6, 6) at scale 1/2 -> cells 0..3 (round(3) = 3): 4 x 4 cells, bins of 2 x 2.
        float[] rois = [0, 0, 0, 6, 6];

        var outputs = GraphInterpreter.Run(
            ExportAndParse(spec, weights),
            new Dictionary<string, GraphInterpreter.Tensor>
            {
                ["features"] = new(features, [1, 1, 4, 4]),
                ["rois"] = new(rois, [1, 5]),
            });

        // Bin maxima of the map 0..15 (row-major): (5, 7, 13, 15).
        Assert.Equal([5f + 0.5f, 7 + 13 + 15 - 1f], outputs["cls_score"].Data);
        // bbox_pred row j sums the bins p whose weight (index 4j + p) is 1, i.e. (4j + p) % 5 == 0, plus bias j.
        float[] bins = [5, 7, 13, 15];
        var expectedBoxes = Enumerable.Range(0, 8).Select(j =>
            Enumerable.Range(0, 4).Where(p => ((4 * j) + p) % 5 == 0).Sum(p => bins[p]) + j).ToArray();
        Assert.Equal(expectedBoxes, outputs["bbox_pred"].Data);
    }

    /// <summary>Any valid spec: the exported initializers are Weights(spec), in order, with the values given.</summary>
    [Fact]
    public void Any_spec_exports_its_weights_by_name_and_shape()
    {
        var specs =
            from channels in Gen.Choose(1, 6)
            from ph in Gen.Choose(1, 4)
            from pw in Gen.Choose(1, 4)
            from scale in Gen.Elements(1f, 0.5f, 0.25f, 0.0625f, 1f / 3f)
            from hidden in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Choose(1, 9), n))
            from classes in Gen.Choose(1, 5)
            from seed in Gen.Choose(0, 1000)
            select (Spec: new RoiHeadSpec(channels, ph, pw, scale, hidden, classes), Seed: seed);

        var property = Prop.ForAll(specs.ToArbitrary(), s =>
        {
            var weights = RoiHeadExporter.RandomWeights(s.Spec, s.Seed);
            var model = ExportAndParse(s.Spec, weights);
            var layout = RoiHeadExporter.Weights(s.Spec);
            var hidden = s.Spec.HiddenSizes.Count;

            Assert.Equal(layout.Select(w => w.Name), model.Graph.Initializer.Select(t => t.Name));
            Assert.Equal(2 + (2 * hidden) + 2, model.Graph.Node.Count);
            Assert.Equal(4 + (2 * hidden), layout.Count);
            var fanIn = s.Spec.Channels * s.Spec.PooledHeight * s.Spec.PooledWidth;
            for (var i = 0; i < layout.Count; i += 2)
            {
                var outputs = i / 2 < hidden ? s.Spec.HiddenSizes[i / 2]
                    : i / 2 == hidden ? s.Spec.NumClasses + 1 : 4 * (s.Spec.NumClasses + 1);
                Assert.Equal([(long)outputs, fanIn], model.Graph.Initializer[i].Dims);
                Assert.Equal([(long)outputs], model.Graph.Initializer[i + 1].Dims);
                if (i / 2 < hidden)
                {
                    fanIn = outputs;
                }
            }

            foreach (var tensor in model.Graph.Initializer)
            {
                Assert.Equal(weights[tensor.Name], OnnxTensors.ReadFloat32(tensor));
            }

            AssertFloatTensor(model.Graph.Output[0], "R", s.Spec.NumClasses + 1);
            AssertFloatTensor(model.Graph.Output[1], "R", 4 * (s.Spec.NumClasses + 1));
        });
        Properties.Check(property, maxTest: 100);
    }

    [Fact]
    public void Float_tensors_read_back_from_float_data_too()
    {
        var tensor = new TensorProto { Name = "t", DataType = (int)DataType.Float };
        tensor.Dims.AddRange([2, 2]);
        tensor.FloatData.AddRange([1f, -2f, 3.5f, 0f]);

        Assert.Equal([1f, -2f, 3.5f, 0f], OnnxTensors.ReadFloat32(tensor));

        tensor.FloatData.RemoveAt(3);
        Assert.Throws<InvalidDataException>(() => OnnxTensors.ReadFloat32(tensor));
    }

    internal static void AssertFloatTensor(ValueInfoProto value, params object[] dims)
    {
        var type = value.Type.TensorType;
        Assert.NotNull(type);
        Assert.Equal((int)DataType.Float, type.ElemType);
        Assert.Equal(dims.Length, type.Shape.Dim.Count);
        for (var i = 0; i < dims.Length; i++)
        {
            var dim = type.Shape.Dim[i];
            switch (dims[i])
            {
                case string symbol:
                    Assert.Equal(TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam, dim.ValueCase);
                    Assert.Equal(symbol, dim.DimParam);
                    break;
                case int size:
                    Assert.Equal(TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue, dim.ValueCase);
                    Assert.Equal(size, dim.DimValue);
                    break;
                default:
                    throw new ArgumentException($"dims[{i}] is {dims[i]}", nameof(dims));
            }
        }
    }
}
