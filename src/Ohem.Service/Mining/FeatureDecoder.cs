using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Ohem.Protocol.V1;

namespace Ohem.Service.Mining;

/// <summary>
/// A batch's feature maps from the wire: [N, C, H, W] float32 (viewed in place, no copy) or
/// float16 (converted once to float32, vectorised). Errors name the field and what was expected.
/// </summary>
internal static class FeatureDecoder
{
    public static (ReadOnlyMemory<float> Values, (int N, int C, int H, int W) Shape) Decode(Ohem.Protocol.V1.Tensor? features)
    {
        if (features is null)
        {
            throw new ArgumentException("features are missing; expected a [N, C, H, W] tensor.", nameof(features));
        }

        if (features.Shape.Count != 4 || features.Shape.Any(d => d < 1 || d > int.MaxValue))
        {
            throw new ArgumentException($"features.shape is [{string.Join(", ", features.Shape)}]; expected [N, C, H, W], each at least 1.", nameof(features));
        }

        var shape = ((int)features.Shape[0], (int)features.Shape[1], (int)features.Shape[2], (int)features.Shape[3]);
        // Past int.MaxValue elements no message can carry the data (and a product of four
        // dimensions can wrap a long to 0, matching empty data).
        var count = features.Shape.Aggregate(1.0, (a, d) => a * d);
        if (count > int.MaxValue)
        {
            throw new ArgumentException($"features.shape is [{string.Join(", ", features.Shape)}]: {count:G4} elements; at most {int.MaxValue} fit a message.", nameof(features));
        }

        var elementSize = features.Dtype switch
        {
            DataType.Float32 => 4,
            DataType.Float16 => 2,
            _ => throw new ArgumentException($"features.dtype is {features.Dtype}; expected DATA_TYPE_FLOAT32 or DATA_TYPE_FLOAT16.", nameof(features)),
        };
        if (features.Data.Length != (long)count * elementSize)
        {
            throw new ArgumentException($"features.data has {features.Data.Length} bytes; shape [{string.Join(", ", features.Shape)}] of {features.Dtype} needs {(long)count * elementSize}.", nameof(features));
        }

        if (elementSize == 2)
        {
            var values = new float[(int)count];
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(features.Data.Span), values);
            return (values, shape);
        }

        // The parser gives a bytes field its own array: view it as floats where it lies.
        return MemoryMarshal.TryGetArray(features.Data.Memory, out var segment)
            ? (new FloatView(segment).Memory, shape)
            : (MemoryMarshal.Cast<byte, float>(features.Data.Span).ToArray(), shape);
    }
}
