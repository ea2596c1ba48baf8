using Ohem.Onnx.Export;
using Ohem.Onnx.Export.OnnxProto;

namespace Ohem.Onnx.Tests.Engine;

/// <summary>Small models for the engine tests, built with the exporter's graph builder.</summary>
internal static class TestModels
{
    /// <summary>A one-hidden-layer head: C=2, pooled 2x2, scale 0.5, hidden 8, K=3.</summary>
    public static readonly RoiHeadSpec Tiny = new(2, 2, 2, 0.5f, [8], 3);

    public static byte[] Bytes(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }

    /// <summary>A graph with the given inputs and outputs passing values through Identity nodes.</summary>
    public static byte[] Passthrough(
        (string Name, object[] Shape)[] inputs, (string Name, string From, object[] Shape)[] outputs)
    {
        var graph = new OnnxGraphBuilder("passthrough");
        foreach (var (name, shape) in inputs)
        {
            graph.Input(name, shape);
        }

        foreach (var (name, from, shape) in outputs)
        {
            graph.Node("Identity", "id_" + name, name, [from]);
            graph.Output(name, shape);
        }

        return Bytes(graph.Graph);
    }

    public static float[] RandomFeatures(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
    }
}
