using System.Buffers;

namespace Ohem.Grpc;

/// <summary>
/// Where a marshaller puts one serialized message. Either hand over a whole array with
/// <see cref="Complete(byte[])"/>, or (cheaper for big messages) declare the length with
/// <see cref="SetPayloadLength"/>, write into <see cref="GetBufferWriter"/> and call
/// <see cref="Complete()"/>: with the length known up front and no compression the bytes go
/// straight into the transport's buffers, with no intermediate copy; a big final part of the
/// payload can even be handed over by reference (<see cref="Complete(ReadOnlyMemory{byte})"/>).
/// </summary>
public abstract class SerializationContext
{
    /// <summary>The whole payload at once.</summary>
    public abstract void Complete(byte[] payload);

    /// <summary>Declares the payload length before writing through <see cref="GetBufferWriter"/>.</summary>
    public abstract void SetPayloadLength(int payloadLength);

    /// <summary>A writer for the payload; valid until <see cref="Complete()"/>.</summary>
    public abstract IBufferWriter<byte> GetBufferWriter();

    /// <summary>Ends a payload written through <see cref="GetBufferWriter"/>.</summary>
    public abstract void Complete();

    /// <summary>
    /// Ends a payload written through <see cref="GetBufferWriter"/> whose last bytes are
    /// <paramref name="tail"/> (the declared length counts them). The transport may send the tail
    /// from where it lies instead of copying it into its buffers (ours does, for a declared length
    /// without compression), so it must not change until the write has completed. The default
    /// copies it through the buffer writer.
    /// </summary>
    public virtual void Complete(ReadOnlyMemory<byte> tail)
    {
        GetBufferWriter().Write(tail.Span);
        Complete();
    }
}
