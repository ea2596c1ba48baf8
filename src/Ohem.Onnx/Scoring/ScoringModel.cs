using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Ohem.Onnx.Export.OnnxProto;

namespace Ohem.Onnx.Scoring;

/// <summary>
/// A registered scoring model: the ONNX bytes (graph kept, weights replaced per version) checked
/// against the contract of ARCHITECTURE.md. Inputs `features` float32 [N, C, H, W] and `rois`
/// float32 [R, 5]; outputs `cls_score` [R, K+1] and `bbox_pred` [R, 4(K+1)]. Its float32
/// initializers are the weights a job publishes, by name and shape.
/// </summary>
public sealed class ScoringModel
{
    public const string Features = "features", Rois = "rois", ClassScores = "cls_score", BoxDeltas = "bbox_pred";

    private ScoringModel(byte[] bytes, int numClasses, int? channels, IReadOnlyList<WeightShape> weights, HostPooling? hostPooling, string executionProvider)
    {
        ExecutionProvider = executionProvider;
        HostPooling = hostPooling;
        ModelBytes = bytes;
        NumClasses = numClasses;
        Channels = channels;
        Weights = weights;
        WeightsByName = weights.ToDictionary(w => w.Name, StringComparer.Ordinal);
    }

    public ReadOnlyMemory<byte> Bytes => ModelBytes;

    internal byte[] ModelBytes { get; }

    /// <summary>K, the object classes (cls_score has K + 1 columns).</summary>
    public int NumClasses { get; }

    /// <summary>"CPU" or "CUDA": where this model's sessions run with the options it was loaded with.</summary>
    public string ExecutionProvider { get; }

    /// <summary>C of the features, when the model fixes it.</summary>
    public int? Channels { get; }

    /// <summary>The weights a version must supply: every float32 initializer, in model order.</summary>
    public IReadOnlyList<WeightShape> Weights { get; }

    internal IReadOnlyDictionary<string, WeightShape> WeightsByName { get; }

    /// <summary>The weight of that name, or null when the model has none.</summary>
    public WeightShape? Weight(string name) => WeightsByName.GetValueOrDefault(name);

    /// <summary>The head after its RoI pooling, when the graph is MaxRoiPool(features, rois) -> head.</summary>
    internal HostPooling? HostPooling { get; }

    /// <summary>
    /// Loads and checks a model. Throws <see cref="InvalidModelException"/> saying what is wrong:
    /// unreadable bytes, a missing or extra input or output, a wrong element type or rank, or a
    /// class count that disagrees with <paramref name="numClasses"/> (when given).
    /// </summary>
    public static ScoringModel Load(byte[] onnx, int? numClasses = null, OnnxSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        options ??= new OnnxSessionOptions();
        InferenceSession session;
        string provider;
        try
        {
            session = OnnxSessions.Create(onnx, options, null, null, out provider);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidModelException($"model: ONNX Runtime cannot load it ({e.Message})", e);
        }

        using (session)
        {
            var inputs = Nodes(session.InputNames, session.InputMetadata);
            var outputs = Nodes(session.OutputNames, session.OutputMetadata);
            Expect(inputs, "input", [Features, Rois]);
            Expect(outputs, "output", [ClassScores, BoxDeltas]);
            var features = Node(inputs, Features, 4, "[N, C, H, W]");
            var rois = Node(inputs, Rois, 2, "[R, 5]");
            var cls = Node(outputs, ClassScores, 2, "[R, K+1]");
            var box = Node(outputs, BoxDeltas, 2, "[R, 4(K+1)]");
            if (rois.Dimensions[1] >= 0 && rois.Dimensions[1] != 5)
            {
                throw new InvalidModelException($"model input \"{Rois}\" has {rois.Dimensions[1]} columns; expected 5 (batch index, x1, y1, x2, y2).");
            }

            var k = ClassCount(cls, box, numClasses);
            var proto = ModelProto.Parser.ParseFrom(onnx);
            var channels = features.Dimensions[1] > 0 ? (int)features.Dimensions[1] : (int?)null;
            return new ScoringModel(onnx, k, channels, ReadWeights(proto), SplitAtRoiPool(proto, channels), provider);
        }
    }

    private static ModelNode[] Nodes(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        [.. names.Select(name => metadata[name] is { IsTensor: true } m
            ? new ModelNode(name, m.ElementDataType, [.. m.Dimensions.Select(d => (long)d)])
            : new ModelNode(name, TensorElementType.DataTypeMax, []))];

    private static void Expect(IReadOnlyList<ModelNode> nodes, string kind, string[] names)
    {
        foreach (var name in names)
        {
            if (!nodes.Any(n => n.Name == name))
            {
                throw new InvalidModelException($"model has no {kind} named \"{name}\"; it has {Describe(nodes)}; the scoring contract needs {kind}s {string.Join(" and ", names)}.");
            }
        }

        foreach (var node in nodes)
        {
            if (!names.Contains(node.Name))
            {
                throw new InvalidModelException($"model has an unexpected {kind} \"{node.Name}\"; the scoring contract has exactly {string.Join(" and ", names)}.");
            }
        }
    }

    private static ModelNode Node(IReadOnlyList<ModelNode> nodes, string name, int rank, string shape)
    {
        var node = nodes.First(n => n.Name == name);
        if (node.ElementType != TensorElementType.Float || node.Dimensions.Length != rank)
        {
            throw new InvalidModelException($"model's \"{name}\" is {node}; expected float32 of rank {rank} {shape}.");
        }

        return node;
    }

    private static int ClassCount(ModelNode cls, ModelNode box, int? declared)
    {
        long? fromCls = cls.Dimensions[1] > 0 ? cls.Dimensions[1] - 1 : null;
        long? fromBox = box.Dimensions[1] > 0 ? box.Dimensions[1] / 4 - 1 : null;
        if (box.Dimensions[1] > 0 && box.Dimensions[1] % 4 != 0)
        {
            throw new InvalidModelException($"model's \"{BoxDeltas}\" has {box.Dimensions[1]} columns; expected 4(K+1).");
        }

        foreach (var (source, value) in new[] { ("cls_score", fromCls), ("bbox_pred", fromBox) })
        {
            if (value is { } v && declared is { } d && v != d)
            {
                throw new InvalidModelException($"model's {source} implies {v} classes; {d} were declared.");
            }
        }

        if (fromCls is { } c && fromBox is { } b && c != b)
        {
            throw new InvalidModelException($"model's cls_score implies {c} classes but bbox_pred implies {b}.");
        }

        var k = declared ?? fromCls ?? fromBox
            ?? throw new InvalidModelException("model leaves the class count symbolic; declare numClasses.");
        if (k < 1)
        {
            throw new InvalidModelException($"model has {k} object classes; expected at least 1.");
        }

        return (int)k;
    }

    private static List<WeightShape> ReadWeights(ModelProto model) =>
        model.Graph.Initializer
            .Where(t => t.DataType == (int)TensorProto.Types.DataType.Float)
            .Select(t => new WeightShape(t.Name, [.. t.Dims]))
            .ToList();

    /// <summary>
    /// The head without its RoI pooling, when the graph pools exactly once, MaxRoiPool(features,
    /// rois), and nothing else reads features or rois: the pooling's output becomes the input.
    /// </summary>
    private static HostPooling? SplitAtRoiPool(ModelProto model, int? channels)
    {
        var graph = model.Graph;
        var pools = graph.Node.Where(n => n.OpType == "MaxRoiPool" && n.Domain is "" or "ai.onnx").ToList();
        if (channels is not { } c || pools.Count != 1)
        {
            return null;
        }

        var pool = pools[0];
        if (pool.Input.Count != 2 || pool.Input[0] != Features || pool.Input[1] != Rois || pool.Output.Count != 1
            || graph.Node.Any(n => n != pool && n.Input.Any(i => i is Features or Rois))
            || graph.Output.Any(o => o.Name is Features or Rois))
        {
            return null;
        }

        var shape = pool.Attribute.FirstOrDefault(a => a.Name == "pooled_shape")?.Ints;
        if (shape is not { Count: 2 } || shape[0] < 1 || shape[1] < 1)
        {
            return null;
        }

        var scale = pool.Attribute.FirstOrDefault(a => a.Name == "spatial_scale")?.F ?? 1f;
        var head = model.Clone();
        var pooled = pool.Output[0];
        head.Graph.Node.RemoveAt(graph.Node.IndexOf(pool));
        foreach (var input in head.Graph.Input.Where(i => i.Name is Features or Rois).ToList())
        {
            head.Graph.Input.Remove(input);
        }

        foreach (var info in head.Graph.ValueInfo.Where(v => v.Name == pooled).ToList())
        {
            head.Graph.ValueInfo.Remove(info);
        }

        var dims = new TensorShapeProto();
        dims.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "R" });
        foreach (var d in new long[] { c, shape[0], shape[1] })
        {
            dims.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        head.Graph.Input.Add(new ValueInfoProto
        {
            Name = pooled,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = dims } },
        });
        return new HostPooling(Google.Protobuf.MessageExtensions.ToByteArray(head), pooled, c, (int)shape[0], (int)shape[1], scale);
    }

    private static string Describe(IReadOnlyList<ModelNode> nodes) =>
        nodes.Count == 0 ? "none" : string.Join(", ", nodes.Select(n => n.ToString()));
}

/// <summary>One input or output of a model: name, element type, dimensions (-1 where symbolic).</summary>
internal sealed record ModelNode(string Name, TensorElementType ElementType, long[] Dimensions)
{
    public override string ToString() =>
        $"{Name}: {(ElementType == TensorElementType.DataTypeMax ? "not a tensor" : ElementType)}[{string.Join(", ", Dimensions.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}

/// <summary>A scoring model split at its RoI pooling: the head model and the pooling's parameters.</summary>
internal sealed record HostPooling(byte[] HeadModel, string PooledInput, int Channels, int PooledHeight, int PooledWidth, float SpatialScale);

/// <summary>A named weight tensor's shape.</summary>
public sealed record WeightShape(string Name, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}

/// <summary>A model that does not meet the scoring contract (or cannot be read).</summary>
public sealed class InvalidModelException : Exception
{
    public InvalidModelException(string message) : base(message)
    {
    }

    public InvalidModelException(string message, Exception inner) : base(message, inner)
    {
    }
}
