using System.Buffers;
using Ohem.Onnx.Native;

namespace Ohem.Onnx;

/// <summary>
/// An OrtValue over managed float32 memory, without copying: the memory stays pinned for as long
/// as the value lives (CreateTensorWithDataAsOrtValue keeps the pointer), and is unpinned only
/// after the value is released.
/// </summary>
internal sealed unsafe class PinnedTensor : IDisposable
{
    private MemoryHandle _pin;
    private readonly OrtValueHandle _value;

    public PinnedTensor(Memory<float> data, ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }

        if (count != data.Length)
        {
            throw new ArgumentException($"tensor data has {data.Length} floats; shape [{string.Join(", ", shape.ToArray())}] needs {count}.", nameof(data));
        }

        var env = OrtEnvironment.Instance;
        var api = env.Api;
        _pin = data.Pin();
        _value = new OrtValueHandle();
        try
        {
            nint value;
            fixed (long* dims = shape)
            {
                api.Check(api.CreateTensorWithDataAsOrtValue(
                    env.CpuMemory.Pointer, _pin.Pointer, (nuint)(data.Length * sizeof(float)), dims, (nuint)shape.Length,
                    OrtElementType.Float, &value), "CreateTensorWithDataAsOrtValue");
            }

            _value.Attach(value);
        }
        catch
        {
            _value.Dispose();
            _pin.Dispose();
            throw;
        }

        Data = data;
    }

    public Memory<float> Data { get; }

    public nint Value => _value.Pointer;

    public void Dispose()
    {
        _value.Dispose();
        _pin.Dispose(); // after the value: ORT may touch the buffer until it is released
    }
}
