using System.Buffers;

namespace Ohem.Grpc;

/// <summary>
/// One received message's payload, handed to a marshaller's deserializer. The payload lives in the
/// transport's (pooled) buffers and is valid only during the deserializer call: parse from
/// <see cref="PayloadAsReadOnlySequence"/> to avoid a copy, or take <see cref="PayloadAsNewBuffer"/>.
/// </summary>
public abstract class DeserializationContext
{
    public abstract int PayloadLength { get; }

    /// <summary>A fresh array holding the payload (one copy).</summary>
    public abstract byte[] PayloadAsNewBuffer();

    /// <summary>The payload in place, possibly in several segments; do not keep it past the call.</summary>
    public abstract ReadOnlySequence<byte> PayloadAsReadOnlySequence();
}
