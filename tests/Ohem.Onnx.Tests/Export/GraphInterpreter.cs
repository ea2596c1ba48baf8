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

    // ONNX MaxRoiPool-1 (Caffe RoI pooling), as ONNX Runtime computes it:
    // start = round(x1 * scale), end = round(x2 * scale), round half away from zero;
    // size = max(end - start + 1, 1); bin = size / pooled; bin p covers
    // [floor(p * bin), ceil((p + 1) * bin)) + start, clipped to the map; an empty bin is 0.
    private static Tensor MaxRoiPool(Tensor x, Tensor rois, Dictionary<string, AttributeProto> attributes)
    {
        var pooled = attributes["pooled_shape"];
        Assert.Equal(AttributeProto.Types.AttributeType.Ints, pooled.Type);
        var (pooledH, pooledW) = ((int)pooled.Ints[0], (int)pooled.Ints[1]);
        var scale = attributes.TryGetValue("spatial_scale", out var s) ? s.F : 1f;
        int c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], r = rois.Shape[0];
        var output = new float[r * c * pooledH * pooledW];
        for (var i = 0; i < r; i++)
        {
            var roi = rois.Data.AsSpan(5 * i, 5);
            var batch = (int)roi[0];
            var x1 = (int)MathF.Round(roi[1] * scale, MidpointRounding.AwayFromZero);
            var y1 = (int)MathF.Round(roi[2] * scale, MidpointRounding.AwayFromZero);
            var x2 = (int)MathF.Round(roi[3] * scale, MidpointRounding.AwayFromZero);
            var y2 = (int)MathF.Round(roi[4] * scale, MidpointRounding.AwayFromZero);
            var binH = Math.Max(y2 - y1 + 1, 1) / (float)pooledH;
            var binW = Math.Max(x2 - x1 + 1, 1) / (float)pooledW;
            for (var ch = 0; ch < c; ch++)
            {
                var plane = x.Data.AsSpan(((batch * c) + ch) * h * w, h * w);
                for (var ph = 0; ph < pooledH; ph++)
                {
                    var hs = Math.Clamp((int)MathF.Floor(ph * binH) + y1, 0, h);
                    var he = Math.Clamp((int)MathF.Ceiling((ph + 1) * binH) + y1, 0, h);
                    for (var pw = 0; pw < pooledW; pw++)
                    {
                        var ws = Math.Clamp((int)MathF.Floor(pw * binW) + x1, 0, w);
                        var we = Math.Clamp((int)MathF.Ceiling((pw + 1) * binW) + x1, 0, w);
                        var max = he <= hs || we <= ws ? 0f : float.NegativeInfinity;
                        for (var yy = hs; yy < he; yy++)
                        {
                            for (var xx = ws; xx < we; xx++)
                            {
                                max = Math.Max(max, plane[(yy * w) + xx]);
                            }
                        }

                        output[((((i * c) + ch) * pooledH) + ph) * pooledW + pw] = max;
                    }
                }
            }
        }

        return new Tensor(output, [r, c, pooledH, pooledW]);
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
