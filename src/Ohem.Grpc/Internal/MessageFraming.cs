using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Ohem.Grpc.Internal;

/// <summary>
/// The one place that knows the message framing: 1 byte compressed flag, 4 bytes big-endian
/// length, payload. Both sides read from a <see cref="PipeReader"/> (Kestrel's request body, or
/// the HTTP response stream) and write to a <see cref="PipeWriter"/> (Kestrel's response body, or
/// the HTTP request stream), so a received payload is parsed where it lies in the pipe's pooled
/// segments, and a sent one whose length is known up front is serialized straight into them.
/// </summary>
internal static class MessageFraming
{
    public const int HeaderLength = 5;

    /// <summary>
    /// Reads the next message; null at a clean end of stream. Failures are <see cref="RpcException"/>s:
    /// RESOURCE_EXHAUSTED over <paramref name="maxMessageSize"/>, INTERNAL for a truncated or
    /// unparsable message, <paramref name="unsupportedEncodingCode"/> for a compressed message in an
    /// encoding we lack (UNIMPLEMENTED on a server, INTERNAL on a client, per compression.md).
    /// </summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(
        PipeReader reader,
        Func<DeserializationContext, T> deserializer,
        string? encoding,
        int? maxMessageSize,
        StatusCode unsupportedEncodingCode,
        CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("The read was canceled.");
            }

            var buffer = result.Buffer;
            if (TryReadHeader(buffer, out var compressed, out var length))
            {
                if (length > maxMessageSize || length > Array.MaxLength)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw new RpcException(new Status(
                        StatusCode.ResourceExhausted,
                        $"Received message exceeds the maximum configured message size ({length} > {maxMessageSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited"} bytes)."));
                }

                if (buffer.Length >= HeaderLength + length)
                {
                    var payload = buffer.Slice(HeaderLength, length);
                    try
                    {
                        return Deserialize(payload, compressed, deserializer, encoding, maxMessageSize, unsupportedEncodingCode);
                    }
                    finally
                    {
                        reader.AdvanceTo(payload.End);
                    }
                }
            }

            if (result.IsCompleted)
            {
                // Read the length first: the buffer is not valid once advanced past.
                var left = buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (left == 0)
                {
                    return null;
                }

                throw new RpcException(new Status(StatusCode.Internal, $"Incomplete message: the stream ended {left} bytes into a message."));
            }

            // Not a whole message yet: keep everything, wait for more.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// Serializes, frames and flushes one message. With <paramref name="compression"/> set the
    /// payload is compressed (flag 1). Over <paramref name="maxMessageSize"/> (uncompressed) it
    /// throws RESOURCE_EXHAUSTED before anything is written. Returns false when the peer is gone
    /// (the pipe's reader completed).
    /// </summary>
    public static async ValueTask<bool> WriteMessageAsync<T>(
        PipeWriter writer,
        T message,
        Action<T, SerializationContext> serializer,
        string? compression,
        int? maxMessageSize,
        CancellationToken cancellationToken)
    {
        ReadOnlyMemory<byte> tail;
        using (var context = new FramingContext(writer, compression, maxMessageSize))
        {
            try
            {
                serializer(message, context);
                context.EnsureComplete();
            }
            catch (Exception ex) when (context.FrameStarted && ex is not BrokenFrameException)
            {
                throw new BrokenFrameException(ex);
            }

            tail = context.Tail;
        }

        // A tail handed over by reference: a stream's PipeWriter passes it to the stream as it is
        // (after the buffered head), so the payload's big part is never copied into our buffers.
        var flush = tail.IsEmpty
            ? await writer.FlushAsync(cancellationToken).ConfigureAwait(false)
            : await writer.WriteAsync(tail, cancellationToken).ConfigureAwait(false);
        if (flush.IsCanceled)
        {
            throw new OperationCanceledException("The write was canceled.");
        }

        return !flush.IsCompleted;
    }

    /// <summary>Writes a 5-byte header into <paramref name="destination"/>.</summary>
    public static void WriteHeader(Span<byte> destination, bool compressed, int length)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    private static bool TryReadHeader(in ReadOnlySequence<byte> buffer, out bool compressed, out long length)
    {
        compressed = false;
        length = 0;
        if (buffer.Length < HeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        compressed = header[0] switch
        {
            0 => false,
            1 => true,
            var flag => throw new RpcException(new Status(StatusCode.Internal, $"Invalid compressed flag {flag} in a message header.")),
        };
        length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return true;
    }

    private static T Deserialize<T>(
        ReadOnlySequence<byte> payload,
        bool compressed,
        Func<DeserializationContext, T> deserializer,
        string? encoding,
        int? maxMessageSize,
        StatusCode unsupportedEncodingCode)
    {
        if (!compressed)
        {
            return Parse(payload, deserializer);
        }

        if (MessageCompression.IsIdentity(encoding))
        {
            throw new RpcException(new Status(StatusCode.Internal, "A message has the compressed flag set but the call's grpc-encoding is identity or absent."));
        }

        if (!MessageCompression.IsSupported(encoding))
        {
            throw new RpcException(new Status(
                unsupportedEncodingCode,
                $"Unsupported grpc-encoding '{encoding}'. Supported: {GrpcProtocol.AcceptEncodingValue}."));
        }

        using var decompressed = new PooledBufferWriter((int)Math.Min(payload.Length * 4, maxMessageSize ?? int.MaxValue));
        bool complete;
        try
        {
            complete = MessageCompression.TryDecompress(encoding!, payload, decompressed, maxMessageSize);
        }
        catch (InvalidDataException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"A {encoding} message could not be decompressed: {ex.Message}", ex));
        }

        if (!complete)
        {
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"Received message exceeds the maximum configured message size once decompressed (> {maxMessageSize} bytes)."));
        }

        return Parse(new ReadOnlySequence<byte>(decompressed.WrittenMemory), deserializer);
    }

    private static T Parse<T>(ReadOnlySequence<byte> payload, Func<DeserializationContext, T> deserializer)
    {
        try
        {
            return deserializer(new PayloadContext(payload));
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"Failed to deserialize a message: {ex.Message}", ex));
        }
    }

    private sealed class PayloadContext(ReadOnlySequence<byte> payload) : DeserializationContext
    {
        public override int PayloadLength => (int)payload.Length;

        public override byte[] PayloadAsNewBuffer() => payload.ToArray();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => payload;
    }

    /// <summary>
    /// The serializer's view of one outgoing frame. With the length declared, no compression, the
    /// payload goes straight into the pipe after the header; otherwise it is gathered in a pooled
    /// buffer first (compression needs it whole, and the header needs its length).
    /// </summary>
    private sealed class FramingContext(PipeWriter writer, string? compression, int? maxMessageSize)
        : SerializationContext, IBufferWriter<byte>, IDisposable
    {
        private PooledBufferWriter? _buffer;
        private int _declaredLength = -1;
        private long _directWritten;
        private bool _completed;

        /// <summary>True once bytes of this frame are in the pipe: a failure then leaves the stream corrupt.</summary>
        public bool FrameStarted { get; private set; }

        /// <summary>The payload's final bytes, still to be written after the pipe's (empty unless handed over by reference).</summary>
        public ReadOnlyMemory<byte> Tail { get; private set; }

        private bool Direct => _declaredLength >= 0 && compression is null;

        public override void Complete(byte[] payload)
        {
            ArgumentNullException.ThrowIfNull(payload);
            EnsureNotCompleted();
            WritePayload(payload);
            _completed = true;
        }

        public override void SetPayloadLength(int payloadLength)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
            EnsureNotCompleted();
            if (_declaredLength >= 0 || _buffer is not null)
            {
                throw new InvalidOperationException("The payload length must be set once, before writing.");
            }

            CheckSendSize(payloadLength);
            _declaredLength = payloadLength;
            if (Direct)
            {
                WriteHeader(writer.GetSpan(HeaderLength), compressed: false, payloadLength);
                writer.Advance(HeaderLength);
                FrameStarted = true;
            }
        }

        public override IBufferWriter<byte> GetBufferWriter()
        {
            EnsureNotCompleted();
            if (Direct)
            {
                return this;
            }

            return _buffer ??= new PooledBufferWriter(_declaredLength >= 0 ? _declaredLength : 4096);
        }

        public override void Complete(ReadOnlyMemory<byte> tail)
        {
            if (!Direct)
            {
                base.Complete(tail); // compressed, or no declared length: the payload is gathered whole anyway
                return;
            }

            EnsureNotCompleted();
            if (_directWritten + tail.Length != _declaredLength)
            {
                throw new InvalidOperationException($"The serializer declared {_declaredLength} bytes but wrote {_directWritten} and a tail of {tail.Length}.");
            }

            Tail = tail;
            _completed = true;
        }

        public override void Complete()
        {
            EnsureNotCompleted();
            if (Direct)
            {
                if (_directWritten != _declaredLength)
                {
                    throw new InvalidOperationException($"The serializer declared {_declaredLength} bytes but wrote {_directWritten}.");
                }
            }
            else
            {
                var payload = _buffer is null ? [] : _buffer.WrittenSpan;
                if (_declaredLength >= 0 && payload.Length != _declaredLength)
                {
                    throw new InvalidOperationException($"The serializer declared {_declaredLength} bytes but wrote {payload.Length}.");
                }

                WritePayload(payload);
            }

            _completed = true;
        }

        public void EnsureComplete()
        {
            if (!_completed)
            {
                throw new InvalidOperationException("The serializer did not complete the message (call SerializationContext.Complete).");
            }
        }

        public void Dispose() => _buffer?.Dispose();

        void IBufferWriter<byte>.Advance(int count)
        {
            writer.Advance(count);
            _directWritten += count;
        }

        Memory<byte> IBufferWriter<byte>.GetMemory(int sizeHint) => writer.GetMemory(sizeHint);

        Span<byte> IBufferWriter<byte>.GetSpan(int sizeHint) => writer.GetSpan(sizeHint);

        private void WritePayload(ReadOnlySpan<byte> payload)
        {
            CheckSendSize(payload.Length);
            if (compression is null)
            {
                WriteFrame(payload, compressed: false);
                return;
            }

            using var compressed = new PooledBufferWriter(Math.Max(payload.Length / 2, 256));
            MessageCompression.Compress(compression, payload, compressed);
            WriteFrame(compressed.WrittenSpan, compressed: true);
        }

        private void WriteFrame(ReadOnlySpan<byte> payload, bool compressed)
        {
            WriteHeader(writer.GetSpan(HeaderLength), compressed, payload.Length);
            writer.Advance(HeaderLength);
            FrameStarted = true;
            writer.Write(payload);
        }

        private void CheckSendSize(int length)
        {
            if (length > maxMessageSize)
            {
                throw new RpcException(new Status(
                    StatusCode.ResourceExhausted,
                    $"Sending message exceeds the maximum configured message size ({length} > {maxMessageSize} bytes)."));
            }
        }

        private void EnsureNotCompleted()
        {
            if (_completed)
            {
                throw new InvalidOperationException("The message is already complete.");
            }
        }
    }
}

/// <summary>
/// A write failed after part of its frame was already in the pipe: the stream is corrupt, and the
/// call must be reset rather than ended with a status.
/// </summary>
internal sealed class BrokenFrameException(Exception inner)
    : Exception("A message failed part way through its frame: " + inner.Message, inner);
