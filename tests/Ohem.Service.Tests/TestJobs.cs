using Google.Protobuf;
using Microsoft.Extensions.Options;
using Ohem.Onnx.Export;
using Ohem.Protocol.V1;
using Ohem.Service.Jobs;

namespace Ohem.Service.Tests;

/// <summary>A tiny head and batches for it, as a trainer would send them.</summary>
internal static class TestJobs
{
    public static readonly RoiHeadSpec Spec = new(2, 2, 2, 0.5f, [8], 3);

    public static byte[] Model() => RoiHeadExporter.Export(Spec, RoiHeadExporter.RandomWeights(Spec, 0));

    public static Dictionary<string, float[]> Weights(int seed) =>
        RoiHeadExporter.RandomWeights(Spec, seed).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    public static JobRegistry Registry(MinerOptions? options = null) => new(Options.Create(options ?? new MinerOptions()));

    public static MineRequest Request(
        string job, ulong batch, int seed, int perImage = 30, string policy = "ohem", DataType dtype = DataType.Float32, int height = 9, int width = 11)
    {
        var rng = new Random(seed);
        var features = Enumerable.Range(0, 2 * Spec.Channels * height * width).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var request = new MineRequest
        {
            JobId = job,
            BatchId = batch,
            Features = new Tensor
            {
                Shape = { 2, Spec.Channels, height, width },
                Dtype = dtype,
                Data = dtype == DataType.Float32
                    ? ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(features.AsSpan()))
                    : ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(features.Select(f => (Half)f).ToArray().AsSpan())),
            },
            Policy = new SelectionPolicy { Name = policy, Options = { ["budget"] = "8" } },
            ReturnLosses = true,
        };
        for (var i = 0; i < 2; i++)
        {
            var image = new ImageRois();
            for (var r = 0; r < perImage; r++)
            {
                float x1 = rng.Next(0, 18), y1 = rng.Next(0, 14);
                image.Boxes.Add([x1, y1, x1 + rng.Next(1, 8), y1 + rng.Next(1, 8)]);
                image.Labels.Add(rng.Next(-1, Spec.NumClasses + 1));
                image.BoxTargets.Add([.. Enumerable.Range(0, 4).Select(_ => (float)(rng.NextDouble() - 0.5))]);
            }

            request.Images.Add(image);
        }

        return request;
    }
}
