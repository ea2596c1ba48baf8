using System.Text.Json;
using Ohem.Onnx.Export;
using Ohem.Protocol.V1;

namespace Ohem.Service.Tests;

/// <summary>
/// The files a Python client reads to call the miner with valid messages: model.onnx (the test
/// model), weights.json + weights.bin (version 1's tensors, float32, in model order) and batch.bin
/// (a serialized MineRequest).
/// </summary>
internal static class InteropSeeds
{
    public static async Task WriteAsync(string directory, MineRequest batch)
    {
        await File.WriteAllBytesAsync(Path.Combine(directory, "model.onnx"), TestJobs.Model());
        var weights = TestJobs.Weights(1);
        var layout = new List<object>();
        await using (var bin = File.Create(Path.Combine(directory, "weights.bin")))
        {
            var offset = 0;
            foreach (var w in RoiHeadExporter.Weights(TestJobs.Spec))
            {
                bin.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights[w.Name].AsSpan()));
                layout.Add(new { name = w.Name, shape = w.Shape, offset, count = weights[w.Name].Length });
                offset += weights[w.Name].Length;
            }
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "weights.json"), JsonSerializer.Serialize(layout));
        await File.WriteAllBytesAsync(Path.Combine(directory, "batch.bin"), Google.Protobuf.MessageExtensions.ToByteArray(batch));
    }
}
