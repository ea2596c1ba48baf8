using Google.Protobuf;
using Ohem.Onnx.Scoring;
using Ohem.Protocol.V1;
using Ohem.Service.Publishing;

namespace Ohem.Service.Tests;

public class WeightsAssemblerTests
{
    private static readonly ScoringModel Model = ScoringModel.Load(TestJobs.Model());

    private static TensorChunk Chunk(string name, float[] values, int offset, int count, DataType dtype = DataType.Float32)
    {
        var shape = Model.Weight(name)!.Shape;
        var slice = values.AsSpan(offset, count);
        var bytes = dtype == DataType.Float32
            ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(slice).ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.AsBytes(slice.ToArray().Select(v => (Half)v).ToArray().AsSpan()).ToArray();
        return new TensorChunk { Name = name, Shape = { shape }, Offset = (ulong)offset, Data = ByteString.CopyFrom(bytes), Dtype = dtype };
    }

    [Fact]
    public void Chunks_in_any_order_and_either_dtype_assemble_the_full_set()
    {
        var weights = TestJobs.Weights(4);
        var assembler = new WeightsAssembler(Model);
        foreach (var (name, values) in weights.Reverse())
        {
            var half = values.Length / 2;
            assembler.Add(Chunk(name, values, half, values.Length - half));
            if (half > 0)
            {
                assembler.Add(Chunk(name, values, 0, half, name.EndsWith("bias", StringComparison.Ordinal) ? DataType.Float16 : DataType.Float32));
            }
        }

        var set = assembler.Complete();
        foreach (var (name, values) in weights)
        {
            var tolerance = name.EndsWith("bias", StringComparison.Ordinal) ? 1e-3f : 0f; // float16 halves
            Assert.All(values.Zip(set[name]), x => Assert.True(Math.Abs(x.First - x.Second) <= tolerance * Math.Max(1, Math.Abs(x.First))));
        }

        using var store = new WeightsVersionStore(Model);
        store.Install(1, set); // the store accepts what the assembler built
    }

    [Fact]
    public void Bad_chunks_name_the_weight()
    {
        var values = TestJobs.Weights(1)["fc6.weight"];
        var assembler = new WeightsAssembler(Model);
        Assert.Contains("\"fc9.weight\" is not a weight", Assert.Throws<ArgumentException>(() =>
            assembler.Add(new TensorChunk { Name = "fc9.weight", Dtype = DataType.Float32 })).Message);
        Assert.Contains("chunk.shape of \"fc6.weight\"", Assert.Throws<ArgumentException>(() =>
            assembler.Add(new TensorChunk { Name = "fc6.weight", Shape = { 1, 2 }, Dtype = DataType.Float32 })).Message);
        Assert.Contains($"chunk.offset of \"fc6.weight\" is {values.Length - 2} with 4 elements; the tensor has {values.Length}", Assert.Throws<ArgumentException>(() =>
            assembler.Add(Chunk("fc6.weight", values, 0, 4) is var c ? new TensorChunk(c) { Offset = (ulong)values.Length - 2 } : null!)).Message);
        Assert.Equal(0, assembler.BytesReceived);
    }

    [Theory]
    [InlineData(ulong.MaxValue, 2)] // offset + count wrapped to 1 and passed the range check
    [InlineData(ulong.MaxValue - 1, 2)]
    [InlineData(ulong.MaxValue, 0)]
    [InlineData(1UL << 63, 4)]
    public void Chunk_offsets_that_wrap_name_the_chunk_the_tensor_and_the_offset(ulong offset, int elements)
    {
        var values = TestJobs.Weights(1)["fc6.weight"];
        var assembler = new WeightsAssembler(Model);
        var chunk = new TensorChunk(Chunk("fc6.weight", values, 0, elements)) { Offset = offset };
        var e = Assert.Throws<ArgumentException>(() => assembler.Add(chunk));
        Assert.Contains($"chunk.offset of \"fc6.weight\" is {offset} with {elements} elements", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, assembler.BytesReceived);
        assembler.Add(Chunk("fc6.weight", values, 0, values.Length)); // nothing was taken from the bad chunk
        Assert.Equal(values, assembler.Complete()["fc6.weight"]);
    }

    [Fact]
    public void Overlapping_and_partial_chunks_are_named()
    {
        var values = TestJobs.Weights(1)["fc6.weight"];
        var assembler = new WeightsAssembler(Model);
        assembler.Add(Chunk("fc6.weight", values, 0, 10));
        Assert.Contains("overlapping [0, 10)", Assert.Throws<ArgumentException>(() => assembler.Add(Chunk("fc6.weight", values, 5, 10))).Message);
        Assert.Contains("arrived in part: 10 of", Assert.Throws<ArgumentException>(() => assembler.Complete()).Message);
    }
}
