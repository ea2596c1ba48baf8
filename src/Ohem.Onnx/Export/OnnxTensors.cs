using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Ohem.Onnx.Export.OnnxProto;

namespace Ohem.Onnx.Export;

/// <summary>
/// float32 tensors in ONNX's TensorProto: written as <c>raw_data</c> (IEEE 754, little-endian,
/// row-major, as the ONNX spec requires), read back from <c>raw_data</c> or <c>float_data</c>
/// (the two encodings a FLOAT tensor may use).
/// </summary>
internal static class OnnxTensors
{
    public static TensorProto Float32(string name, ReadOnlySpan<int> dims, ReadOnlySpan<float> values)
    {
        var tensor = new TensorProto
        {
            Name = name,
            DataType = (int)TensorProto.Types.DataType.Float,
            // The array is ours and never written again: wrap it instead of copying it a second time.
            RawData = UnsafeByteOperations.UnsafeWrap(LittleEndianBytes(values)),
        };
        foreach (var dim in dims)
        {
            tensor.Dims.Add(dim);
        }

        return tensor;
    }

    /// <summary>The values of a FLOAT tensor stored in the model (not external data).</summary>
    public static float[] ReadFloat32(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
        {
            throw new InvalidDataException(
                $"Tensor '{tensor.Name}' has data_type {tensor.DataType}; expected {(int)TensorProto.Types.DataType.Float} (FLOAT).");
        }

        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' keeps its data outside the model; expected it inline.");
        }

        var count = 1L;
        foreach (var dim in tensor.Dims)
        {
            count *= dim;
        }

        float[] values;
        if (tensor.HasRawData)
        {
            var raw = tensor.RawData.Span;
            if (raw.Length != count * sizeof(float))
            {
                throw new InvalidDataException(
                    $"Tensor '{tensor.Name}' has {raw.Length} bytes of raw_data; expected {count} floats ({count * sizeof(float)} bytes).");
            }

            values = new float[count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * sizeof(float))..]);
            }
        }
        else
        {
            if (tensor.FloatData.Count != count)
            {
                throw new InvalidDataException(
                    $"Tensor '{tensor.Name}' has {tensor.FloatData.Count} float_data values; expected {count}.");
            }

            values = [.. tensor.FloatData];
        }

        return values;
    }

    private static byte[] LittleEndianBytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(bytes);
        }
        else
        {
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
            }
        }

        return bytes;
    }
}
