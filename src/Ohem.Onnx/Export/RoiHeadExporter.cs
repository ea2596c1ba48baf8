using System.Globalization;
using Google.Protobuf;
using Ohem.Onnx.Export.OnnxProto;

namespace Ohem.Onnx.Export;

/// <summary>
/// Writes a Fast R-CNN RoI head as an ONNX scoring model (the contract in ARCHITECTURE.md):
/// <code>
/// features [N, C, H, W], rois [R, 5]
///   -> MaxRoiPool(pooled_shape = [ph, pw], spatial_scale)   [R, C, ph, pw]
///   -> Flatten(axis = 1)                                    [R, C*ph*pw]
///   -> (Gemm(transB = 1) -> Relu) per hidden layer fc6, fc7, ...
///   -> Gemm(transB = 1) = cls_score [R, K+1],  Gemm(transB = 1) = bbox_pred [R, 4(K+1)]
/// </code>
/// The weights are initializers named as PyTorch names the parameters of the same module
/// (<c>fc6.weight</c>, <c>fc6.bias</c>, ..., <c>bbox_pred.bias</c>, <c>nn.Linear</c> layout
/// [out, in]), so torch.onnx.export of that module and this exporter take the same named weights.
/// The initializers are not graph inputs (IR 8): a runtime replaces them by name (ONNX Runtime's
/// AddInitializer) or loads the model again with new ones.
/// </summary>
public static class RoiHeadExporter
{
    /// <summary>The default-domain opset the model imports.</summary>
    public const int OpsetVersion = 17;

    /// <summary>The ONNX IR version written (ONNX 1.10+, ONNX Runtime 1.10+).</summary>
    public const int IrVersion = 8;

    /// <summary>The model's <c>producer_name</c>.</summary>
    public const string ProducerName = "OhemService";

    /// <summary>Input: feature maps, float32 [N, C, H, W].</summary>
    public const string FeaturesInput = Scoring.ScoringModel.Features;

    /// <summary>Input: RoIs, float32 [R, 5] = (batch index, x1, y1, x2, y2) in image pixels.</summary>
    public const string RoisInput = Scoring.ScoringModel.Rois;

    /// <summary>Output: class logits, float32 [R, K+1] (column 0 is background).</summary>
    public const string ClsScoreOutput = Scoring.ScoringModel.ClassScores;

    /// <summary>Output: box deltas, float32 [R, 4(K+1)], 4 per class.</summary>
    public const string BboxPredOutput = Scoring.ScoringModel.BoxDeltas;

    // A protobuf message (the whole model, initializers inline) must stay under 2 GiB; keep
    // 16 MiB for everything but the weights.
    private const long MaxWeightBytes = int.MaxValue - (16L << 20);

    /// <summary>
    /// The head's weights in order: for hidden layer i, <c>fc{6+i}.weight</c> [H_i, fan_in] and
    /// <c>fc{6+i}.bias</c> [H_i] (fan_in is C*ph*pw for fc6, H_{i-1} after), then
    /// <c>cls_score.weight</c> [K+1, H_last], <c>cls_score.bias</c> [K+1],
    /// <c>bbox_pred.weight</c> [4(K+1), H_last], <c>bbox_pred.bias</c> [4(K+1)].
    /// </summary>
    public static IReadOnlyList<WeightSpec> Weights(RoiHeadSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var weights = new List<WeightSpec>(2 * spec.HiddenSizes.Count + 4);
        var fanIn = spec.PooledFeatureSize;
        for (var i = 0; i < spec.HiddenSizes.Count; i++)
        {
            AddLinear(weights, HiddenLayerName(i), spec.HiddenSizes[i], fanIn);
            fanIn = spec.HiddenSizes[i];
        }

        AddLinear(weights, ClsScoreOutput, spec.ClsScoreWidth, fanIn);
        AddLinear(weights, BboxPredOutput, spec.BboxPredWidth, fanIn);
        return weights.AsReadOnly();
    }

    /// <summary>
    /// The serialized ONNX ModelProto of <paramref name="spec"/> with <paramref name="weights"/>
    /// as its initializers (raw little-endian float32). The same spec and weights give the same bytes.
    /// </summary>
    /// <param name="spec">The head's shape.</param>
    /// <param name="weights">Exactly the tensors <see cref="Weights(RoiHeadSpec)"/> names, each with
    /// its element count of finite values, row-major.</param>
    /// <exception cref="ArgumentException">A weight is missing, unexpected, of the wrong length or not
    /// finite (the message names it, with its expected shape or the first bad index), or the weights
    /// are too large for one protobuf message.</exception>
    public static byte[] Export(RoiHeadSpec spec, IReadOnlyDictionary<string, float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(weights);
        var layout = Weights(spec);
        CheckWeights(layout, weights);
        if (spec.ParameterCount * sizeof(float) > MaxWeightBytes)
        {
            throw new ArgumentException(
                $"The head has {spec.ParameterCount} parameters ({spec.ParameterCount * sizeof(float)} bytes); one ONNX model "
                + $"file holds at most {MaxWeightBytes} bytes of inline weights (external data is not written).",
                nameof(spec));
        }

        return BuildModel(spec, layout, weights).ToByteArray();
    }

    /// <summary>
    /// Deterministic weights for tests and benchmarks, drawn like PyTorch's default
    /// <c>nn.Linear</c> initialization: weight and bias uniform in
    /// ±<paramref name="scale"/> / sqrt(fan_in). The same spec, seed and scale give the same values.
    /// </summary>
    public static IReadOnlyDictionary<string, float[]> RandomWeights(RoiHeadSpec spec, int seed, float scale = 1f)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!(float.IsFinite(scale) && scale >= 0f))
        {
            throw new ArgumentOutOfRangeException(
                nameof(scale), scale, $"scale is {scale.ToString("R", CultureInfo.InvariantCulture)}; expected a finite number >= 0.");
        }

        var random = new Random(seed);
        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var layout = Weights(spec);
        for (var w = 0; w < layout.Count; w += 2)
        {
            // Pairs (weight [out, in], bias [out]): both bounded by the weight's fan-in.
            var fanIn = layout[w].Shape[1];
            var bound = scale / MathF.Sqrt(fanIn);
            foreach (var tensor in (ReadOnlySpan<WeightSpec>)[layout[w], layout[w + 1]])
            {
                var values = new float[tensor.ElementCount];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = ((2f * random.NextSingle()) - 1f) * bound;
                }

                weights.Add(tensor.Name, values);
            }
        }

        return weights;
    }

    /// <summary>"fc6", "fc7", ...: Fast R-CNN's names for the hidden layers.</summary>
    public static string HiddenLayerName(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return $"fc{6 + index}";
    }

    private static void AddLinear(List<WeightSpec> weights, string layer, int outputs, int inputs)
    {
        weights.Add(new WeightSpec($"{layer}.weight", [outputs, inputs]));
        weights.Add(new WeightSpec($"{layer}.bias", [outputs]));
    }

    private static void CheckWeights(IReadOnlyList<WeightSpec> layout, IReadOnlyDictionary<string, float[]> weights)
    {
        var expected = new HashSet<string>(layout.Select(w => w.Name), StringComparer.Ordinal);
        var unexpected = weights.Keys.Where(name => !expected.Contains(name)).Order(StringComparer.Ordinal).ToList();
        foreach (var spec in layout)
        {
            if (!weights.TryGetValue(spec.Name, out var values))
            {
                var hint = unexpected.Count == 0 ? string.Empty : $" (it has unexpected {Quote(unexpected)})";
                throw new ArgumentException(
                    $"weights has no '{spec.Name}'; expected float32 {spec.ShapeText} ({spec.ElementCount} values){hint}.",
                    nameof(weights));
            }

            if (values is null || values.Length != spec.ElementCount)
            {
                throw new ArgumentException(
                    $"weights['{spec.Name}'] has {(values is null ? "null" : $"{values.Length} values")}; "
                    + $"expected float32 {spec.ShapeText} ({spec.ElementCount} values).",
                    nameof(weights));
            }

            for (var i = 0; i < values.Length; i++)
            {
                if (!float.IsFinite(values[i]))
                {
                    throw new ArgumentException(
                        $"weights['{spec.Name}'][{i}] is {values[i].ToString("R", CultureInfo.InvariantCulture)}; expected a finite float32.",
                        nameof(weights));
                }
            }
        }

        if (unexpected.Count > 0)
        {
            throw new ArgumentException(
                $"weights has unexpected {Quote(unexpected)}; the head's weights are {string.Join(", ", layout)}.",
                nameof(weights));
        }
    }

    private static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

    private static ModelProto BuildModel(RoiHeadSpec spec, IReadOnlyList<WeightSpec> layout, IReadOnlyDictionary<string, float[]> weights)
    {
        var graph = new OnnxGraphBuilder("roi_head");
        graph.Input(FeaturesInput, "N", spec.Channels, "H", "W");
        graph.Input(RoisInput, "R", 5);

        var x = graph.Node("MaxRoiPool", "roi_pool", "pooled", [FeaturesInput, RoisInput],
            OnnxGraphBuilder.Ints("pooled_shape", spec.PooledHeight, spec.PooledWidth),
            OnnxGraphBuilder.Float("spatial_scale", spec.SpatialScale));
        x = graph.Node("Flatten", "flatten", "flattened", [x], OnnxGraphBuilder.Int("axis", 1));
        for (var i = 0; i < spec.HiddenSizes.Count; i++)
        {
            var layer = HiddenLayerName(i);
            x = Linear(graph, layer, x, $"{layer}_out");
            x = graph.Node("Relu", $"{layer}_relu", $"{layer}_relu", [x]);
        }

        Linear(graph, ClsScoreOutput, x, ClsScoreOutput);
        Linear(graph, BboxPredOutput, x, BboxPredOutput);
        graph.Output(ClsScoreOutput, "R", spec.ClsScoreWidth);
        graph.Output(BboxPredOutput, "R", spec.BboxPredWidth);

        foreach (var weight in layout)
        {
            graph.Initializer(OnnxTensors.Float32(weight.Name, weight.Shape, weights[weight.Name]));
        }

        graph.Graph.DocString = $"Fast R-CNN RoI head: {spec}";
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(RoiHeadExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OpsetVersion });
        return model;
    }

    // nn.Linear as ONNX: Gemm(x, W [out, in], b [out]; transB = 1) = x W^T + b.
    private static string Linear(OnnxGraphBuilder graph, string layer, string input, string output) =>
        graph.Node("Gemm", layer, output, [input, $"{layer}.weight", $"{layer}.bias"], OnnxGraphBuilder.Int("transB", 1));
}
