using Ohem.Onnx.Export.OnnxProto;

namespace Ohem.Onnx.Export;

/// <summary>
/// Appends nodes, typed inputs/outputs and initializers to an ONNX graph, in the default
/// (<c>ai.onnx</c>) domain (no node sets <c>domain</c>). Shapes mix fixed sizes and symbolic dimensions: an
/// <see cref="int"/> is a <c>dim_value</c>, a <see cref="string"/> a <c>dim_param</c>.
/// </summary>
internal sealed class OnnxGraphBuilder(string name)
{
    public GraphProto Graph { get; } = new() { Name = name };

    public void Input(string valueName, params object[] shape) => Graph.Input.Add(Float32Value(valueName, shape));

    public void Output(string valueName, params object[] shape) => Graph.Output.Add(Float32Value(valueName, shape));

    public void Initializer(TensorProto tensor) => Graph.Initializer.Add(tensor);

    /// <summary>Adds a node named <paramref name="nodeName"/> with one output and returns the output's name.</summary>
    public string Node(string opType, string nodeName, string output, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = nodeName };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    public static AttributeProto Int(string attributeName, long value) =>
        new() { Name = attributeName, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string attributeName, float value) =>
        new() { Name = attributeName, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string attributeName, params long[] values)
    {
        var attribute = new AttributeProto { Name = attributeName, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private static ValueInfoProto Float32Value(string valueName, object[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var dim in shape)
        {
            tensorShape.Dim.Add(dim switch
            {
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                _ => throw new ArgumentException($"Dimension {dim} of '{valueName}' is neither an int nor a string.", nameof(shape)),
            });
        }

        return new ValueInfoProto
        {
            Name = valueName,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)TensorProto.Types.DataType.Float,
                    Shape = tensorShape,
                },
            },
        };
    }
}
