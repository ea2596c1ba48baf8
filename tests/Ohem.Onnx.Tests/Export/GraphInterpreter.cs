using Ohem.Onnx.Export;
using Ohem.Onnx.Export.OnnxProto;

namespace Ohem.Onnx.Tests.Export;

/// <summary>
/// A test-only reference evaluator for the four ONNX operators an RoI head uses (MaxRoiPool,
/// Flatten, Gemm, Relu), written from the ONNX operator spec and ANCHORS.md, not from the
/// exporter. It walks a ModelProto's nodes in order, so it checks the wiring an exporter wrote
/// (input order, attributes, initializer names) by what the graph computes. float32 data,
/// sums in double; no broadcasting beyond Gemm's bias row.
/// </summary>
internal static class GraphInterpreter
{
    internal sealed record Tensor(float[] Data, int[] Shape);

    public static IReadOnlyDictionary<string, Tensor> Run(ModelProto model, IReadOnlyDictionary<string, Tensor> inputs)
    {
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var initializer in model.Graph.Initializer)
        {
            values[initializer.Name] = new Tensor(OnnxTensors.ReadFloat32(initializer), [.. initializer.Dims.Select(d => (int)d)]);
        }

        foreach (var (name, tensor) in inputs)
        {
            values[name] = tensor;
        }

        foreach (var node in model.Graph.Node)
        {
            var args = node.Input.Select(name => values.TryGetValue(name, out var v)
                ? v
                : throw new InvalidOperationException($"Node '{node.Name}' reads '{name}', which nothing defined before it.")).ToArray();
            var attributes = node.Attribute.ToDictionary(a => a.Name, StringComparer.Ordinal);
            Assert.True(string.IsNullOrEmpty(node.Domain), $"node {node.Name} is in domain '{node.Domain}'");
            values[node.Output.Single()] = node.OpType switch
            {
                "MaxRoiPool" => MaxRoiPool(args[0], args[1], attributes),
                "Flatten" => Flatten(args[0], attributes),
                "Gemm" => Gemm(args, attributes),
                "Relu" => new Tensor([.. args[0].Data.Select(v => Math.Max(v, 0f))], args[0].Shape),
                _ => throw new NotSupportedException($"Operator {node.OpType} ({node.Name})."),
            };
        }

        return model.Graph.Output.ToDictionary(o => o.Name, o => values[o.Name], StringComparer.Ordinal);
    }

    // ONNX MaxRoiPool-1 as ONNX Runtime computes it: the written-out reference of ANCHORS.md,
    // shared with the engine tests (Engine/MaxRoiPoolReference.cs).
    private static Tensor MaxRoiPool(Tensor x, Tensor rois, Dictionary<string, AttributeProto> attributes)
    {
        var pooled = attributes["pooled_shape"];
        Assert.Equal(AttributeProto.Types.AttributeType.Ints, pooled.Type);
        var (pooledH, pooledW) = ((int)pooled.Ints[0], (int)pooled.Ints[1]);
        var scale = attributes.TryGetValue("spatial_scale", out var s) ? s.F : 1f;
        var output = Engine.MaxRoiPoolReference.Pool(x.Data, x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], rois.Data, pooledH, pooledW, scale);
        return new Tensor(output, [rois.Shape[0], x.Shape[1], pooledH, pooledW]);
    }

    private static Tensor Flatten(Tensor x, Dictionary<string, AttributeProto> attributes)
    {
        var axis = attributes.TryGetValue("axis", out var a) ? (int)a.I : 1;
        var outer = x.Shape.Take(axis).Aggregate(1, (p, d) => p * d);
        return new Tensor(x.Data, [outer, x.Data.Length / outer]);
    }

    // Gemm-13: Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A, B' = transB ? B^T : B.
    private static Tensor Gemm(Tensor[] args, Dictionary<string, AttributeProto> attributes)
    {
        long Int(string name) => attributes.TryGetValue(name, out var v) ? v.I : 0;
        float Float(string name) => attributes.TryGetValue(name, out var v) ? v.F : 1f;
        var (a, b) = (args[0], args[1]);
        var transA = Int("transA") != 0;
        var transB = Int("transB") != 0;
        var (alpha, beta) = (Float("alpha"), Float("beta"));
        var m = transA ? a.Shape[1] : a.Shape[0];
        var k = transA ? a.Shape[0] : a.Shape[1];
        var n = transB ? b.Shape[0] : b.Shape[1];
        Assert.Equal(k, transB ? b.Shape[1] : b.Shape[0]);
        var y = new float[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = 0.0;
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a.Data[(p * m) + i] : a.Data[(i * k) + p];
                    var bv = transB ? b.Data[(j * k) + p] : b.Data[(p * n) + j];
                    sum += (double)av * bv;
                }

                var bias = args.Length > 2 ? args[2].Data[args[2].Data.Length == n ? j : (i * n) + j] : 0f;
                y[(i * n) + j] = (float)((alpha * sum) + (beta * (double)bias));
            }
        }

        return new Tensor(y, [m, n]);
    }
}
