using System.Runtime.InteropServices;
using Ohem.Onnx.Scoring;
using Ohem.Protocol.V1;

namespace Ohem.Service.Publishing;

/// <summary>
/// Puts one weights version together from the chunks of a PublishWeights stream: each chunk is a
/// slice of one named tensor, in any order. Chunks must name a weight of the model, give its
/// shape, stay inside it and not overlap; at the end every tensor must be complete. The set as a
/// whole (names, shapes, finiteness) is then checked again by the store when it installs.
/// </summary>
public sealed class WeightsAssembler(ScoringModel model)
{
    private readonly Dictionary<string, (float[] Values, List<(ulong Start, ulong End)> Received)> _tensors = new(StringComparer.Ordinal);

    public long BytesReceived { get; private set; }

    /// <exception cref="ArgumentException">The chunk does not fit the model; the message names the weight.</exception>
    public void Add(TensorChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (model.Weight(chunk.Name) is not { } expected)
        {
            throw new ArgumentException($"chunk.name \"{chunk.Name}\" is not a weight of the model; it has {string.Join(", ", model.Weights.Select(w => w.Name))}.", nameof(chunk));
        }

        if (!chunk.Shape.SequenceEqual(expected.Shape))
        {
            throw new ArgumentException($"chunk.shape of \"{chunk.Name}\" is [{string.Join(", ", chunk.Shape)}]; the model's is {expected}.", nameof(chunk));
        }

        var elementSize = chunk.Dtype switch
        {
            DataType.Float32 => 4,
            DataType.Float16 => 2,
            _ => throw new ArgumentException($"chunk.dtype of \"{chunk.Name}\" is {chunk.Dtype}; expected DATA_TYPE_FLOAT32 or DATA_TYPE_FLOAT16.", nameof(chunk)),
        };
        var data = chunk.Data.Span;
        if (data.Length % elementSize != 0)
        {
            throw new ArgumentException($"chunk.data of \"{chunk.Name}\" has {data.Length} bytes, not a whole number of {elementSize}-byte elements.", nameof(chunk));
        }

        var count = (ulong)(data.Length / elementSize);
        // Written so that nothing wraps: offset + count can pass 2^64 and come back in range.
        var size = (ulong)expected.ElementCount;
        if (chunk.Offset > size || count > size - chunk.Offset)
        {
            throw new ArgumentException($"chunk.offset of \"{chunk.Name}\" is {chunk.Offset} with {count} elements; the tensor has {size}, so offset + elements must be at most {size}.", nameof(chunk));
        }

        if (!_tensors.TryGetValue(chunk.Name, out var tensor))
        {
            tensor = (new float[expected.ElementCount], []);
            _tensors[chunk.Name] = tensor;
        }

        var (start, end) = (chunk.Offset, chunk.Offset + count);
        foreach (var (s, e) in tensor.Received)
        {
            if (start < e && s < end)
            {
                throw new ArgumentException($"chunk of \"{chunk.Name}\" covers [{start}, {end}), overlapping [{s}, {e}) received before.", nameof(chunk));
            }
        }

        tensor.Received.Add((start, end));
        var target = tensor.Values.AsSpan((int)start, (int)count);
        if (elementSize == 4)
        {
            MemoryMarshal.Cast<byte, float>(data).CopyTo(target);
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(data), target);
        }

        BytesReceived += data.Length;
    }

    /// <summary>The full set; every tensor seen must be complete (missing ones are the store's to report).</summary>
    /// <exception cref="ArgumentException">A tensor arrived only in part.</exception>
    public Dictionary<string, float[]> Complete()
    {
        foreach (var (name, (values, received)) in _tensors)
        {
            var covered = received.Aggregate(0ul, (sum, r) => sum + (r.End - r.Start));
            if (covered != (ulong)values.LongLength)
            {
                throw new ArgumentException($"weight \"{name}\" arrived in part: {covered} of {values.LongLength} elements.", "chunk");
            }
        }

        return _tensors.ToDictionary(t => t.Key, t => t.Value.Values, StringComparer.Ordinal);
    }
}
