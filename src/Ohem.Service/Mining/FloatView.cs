using System.Buffers;
using System.Runtime.InteropServices;

namespace Ohem.Service.Mining;

/// <summary>
/// Float32 elements viewed in place over a message's bytes (little-endian, as on the wire and on
/// x64): the protobuf parse is the only copy a batch's features go through. Pinning pins the
/// underlying byte array for ONNX Runtime.
/// </summary>
internal sealed unsafe class FloatView(ArraySegment<byte> bytes) : MemoryManager<float>
{
    public override Span<float> GetSpan() => MemoryMarshal.Cast<byte, float>(bytes.AsSpan());

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        var handle = GCHandle.Alloc(bytes.Array, GCHandleType.Pinned);
        var start = (byte*)handle.AddrOfPinnedObject() + bytes.Offset + elementIndex * sizeof(float);
        return new MemoryHandle(start, handle, this);
    }

    public override void Unpin()
    {
        // Each Pin's GCHandle is freed by its MemoryHandle.
    }

    protected override void Dispose(bool disposing)
    {
        // Nothing held: the bytes belong to the message.
    }
}
