using System.Buffers;
using System.IO.Pipelines;
using FsCheck;
using FsCheck.Fluent;
using Ohem.Grpc.Internal;
using Ohem.Testing;

namespace Ohem.Grpc.Tests;

/// <summary>
/// The framing component on its own: whatever the message sizes, compression and the way the bytes
/// are split into reads (DATA frames have no relation to message boundaries), what is written is
/// what is read; truncation and oversize fail with the right status.
/// </summary>
public class FramingPropertyTests
{
    /// <summary>One message: its bytes (compressible or not), whether it goes compressed, and how the serializer hands it over.</summary>
    internal sealed record Message(byte[] Bytes, bool Compressed, bool Direct, int Piece, bool Tail = false)
    {
        public override string ToString() =>
            $"{Bytes.Length}B{(Compressed ? " z" : string.Empty)}{(Direct ? " direct/" + Piece : string.Empty)}{(Direct && Tail ? " tail" : string.Empty)}";
    }

    internal sealed record Case(Message[] Messages, string Encoding, int[] Chunks, int BufferSize)
    {
        public override string ToString() =>
            $"{Encoding} buffer={BufferSize} messages=[{string.Join(", ", Messages.Select(m => m.ToString()))}] chunks=[{string.Join(",", Chunks.Take(20))}...]";
    }

    private static readonly Gen<int> Sizes = Gen.Frequency(
        (3, Gen.Choose(0, 16)),
        (3, Gen.Choose(17, 5000)),
        (2, Gen.Choose(5001, 70_000)),
        (1, Gen.Choose(70_001, 300_000)));

    private static readonly Gen<Message> Messages =
        from size in Sizes
        from seed in Gen.Choose(0, int.MaxValue)
        from compressible in Gen.Elements(true, false)
        from compressed in Gen.Elements(true, false)
        from direct in Gen.Elements(true, false)
        from piece in Gen.Choose(1, 9000)
        from tail in Gen.Elements(true, false)
        select new Message(Bytes(size, seed, compressible), compressed, direct, piece, tail);

    private static readonly Gen<Case> Cases =
        from count in Gen.Choose(0, 6)
        from messages in Gen.ArrayOf(Messages, count)
        from encoding in Gen.Elements("gzip", "deflate")
        from chunks in Gen.ArrayOf(Gen.Frequency((3, Gen.Choose(1, 7)), (3, Gen.Choose(8, 3000)), (1, Gen.Choose(3001, 100_000))), 64)
        from bufferSize in Gen.Elements(1, 5, 512, 4096, 65536)
        select new Case(messages, encoding, chunks, bufferSize);

    [Fact]
    public void What_is_written_is_read_whatever_the_read_boundaries() =>
        Properties.Check(Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var wire = Write(c.Messages, c.Encoding);
            var read = ReadAll(wire, c.Encoding, c.Chunks, c.BufferSize, maxMessageSize: null);
            return read.Count == c.Messages.Length && read.Zip(c.Messages).All(p => p.First.AsSpan().SequenceEqual(p.Second.Bytes));
        }), 150);

    [Fact]
    public void A_stream_cut_inside_a_message_fails_with_internal_after_the_whole_messages() =>
        Properties.Check(Prop.ForAll(Cases.Where(c => c.Messages.Length > 0).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (c, cutSeed) =>
        {
            var wire = Write(c.Messages, c.Encoding);
            var ends = FrameEnds(wire);
            var cut = 1 + cutSeed % wire.Length;                       // 1..Length
            if (ends.Contains(cut))
            {
                cut--;                                                 // a cut on a boundary is a clean end; move inside
            }

            if (cut == 0 || ends.Contains(cut))
            {
                return true;                                           // only empty frames: nothing to cut inside
            }

            var whole = ends.Count(e => e <= cut);
            var error = Assert.Throws<RpcException>(() => ReadAll(wire[..cut], c.Encoding, c.Chunks, c.BufferSize, null, expectedBeforeError: whole));
            return error.StatusCode == StatusCode.Internal;
        }), 100);

    [Fact]
    public void A_message_over_the_limit_is_resource_exhausted_naming_both_sizes() =>
        Properties.Check(Prop.ForAll(Cases.Where(c => c.Messages.Any(m => m.Bytes.Length > 0)).ToArbitrary(), c =>
        {
            var limit = c.Messages.Max(m => m.Bytes.Length) - 1;
            var wire = Write(c.Messages, c.Encoding);
            // Over the limit on the wire (a compressed message can grow) or once decompressed.
            var wireLengths = FrameEnds(wire).Select((end, i) => end - (i == 0 ? 0 : FrameEnds(wire)[i - 1]) - MessageFraming.HeaderLength).ToArray();
            var firstOver = Enumerable.Range(0, c.Messages.Length).First(i => Math.Max(wireLengths[i], c.Messages[i].Bytes.Length) > limit);
            var error = Assert.Throws<RpcException>(() => ReadAll(wire, c.Encoding, c.Chunks, c.BufferSize, limit, expectedBeforeError: firstOver));
            // A compressed message may be caught on its wire size or once decompressed.
            return error.StatusCode == StatusCode.ResourceExhausted
                && error.Status.Detail.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }), 100);

    [Fact]
    public async Task Sending_over_the_limit_writes_nothing()
    {
        var sink = new MemoryStream();
        var writer = PipeWriter.Create(sink);
        foreach (var direct in new[] { true, false })
        {
            var error = await Assert.ThrowsAsync<RpcException>(
                async () => await MessageFraming.WriteMessageAsync(writer, new byte[101], Serializer(direct, 7), null, 100, default));
            Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
            Assert.Contains("101 > 100", error.Status.Detail, StringComparison.Ordinal);
        }

        await writer.FlushAsync();
        Assert.Equal(0, sink.Length);
    }

    [Fact]
    public void Compressed_flag_without_an_encoding_is_internal()
    {
        var wire = Write([new Message(Bytes(100, 1, true), Compressed: true, Direct: false, Piece: 1)], "gzip");
        var error = Assert.Throws<RpcException>(() => ReadAll(wire, encoding: null, [wire.Length], 4096, null));
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Theory]
    [InlineData(StatusCode.Unimplemented)]
    [InlineData(StatusCode.Internal)]
    public void Compressed_flag_with_an_unknown_encoding_gives_the_sides_status(StatusCode code)
    {
        var wire = Write([new Message(Bytes(100, 1, true), Compressed: true, Direct: false, Piece: 1)], "gzip");
        var error = Assert.Throws<RpcException>(() => ReadAll(wire, "snappy", [wire.Length], 4096, null, unsupported: code));
        Assert.Equal(code, error.StatusCode);
        Assert.Contains("snappy", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flag_other_than_0_or_1_is_internal()
    {
        byte[] wire = [2, 0, 0, 0, 1, 42];
        var error = Assert.Throws<RpcException>(() => ReadAll(wire, null, [wire.Length], 4096, null));
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public void A_serializer_that_writes_less_than_it_declared_breaks_the_frame()
    {
        var writer = PipeWriter.Create(new MemoryStream());
        var lying = new Marshaller<byte[]>(
            (m, ctx) =>
            {
                ctx.SetPayloadLength(m.Length + 1);
                ctx.GetBufferWriter().Write(m);
                ctx.Complete();
            },
            (DeserializationContext ctx) => ctx.PayloadAsNewBuffer());
        Assert.ThrowsAny<BrokenFrameException>(
            () => MessageFraming.WriteMessageAsync(writer, new byte[10], lying.ContextualSerializer, null, null, default).AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public async Task A_tail_reaches_the_stream_by_reference_after_the_head()
    {
        var sink = new RecordingStream();
        var writer = PipeWriter.Create(sink, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
        var message = Bytes(200_000, 3, compressible: false);
        Assert.True(await MessageFraming.WriteMessageAsync(writer, message, Serializer(direct: true, piece: 1000, tail: true), null, null, default));
        Assert.Contains(sink.Writes, w => System.Runtime.InteropServices.MemoryMarshal.TryGetArray(w, out var s) && s.Array == message && s.Offset == 1000);
        await writer.CompleteAsync();
        var read = ReadAll(sink.Bytes.ToArray(), null, [], 65536, null);
        Assert.Equal(message, Assert.Single(read));
    }

    [Fact]
    public void A_tail_that_misses_the_declared_length_breaks_the_frame()
    {
        var writer = PipeWriter.Create(new MemoryStream());
        var lying = new Marshaller<byte[]>(
            (m, ctx) =>
            {
                ctx.SetPayloadLength(m.Length + 1);
                ctx.GetBufferWriter().Write(m.AsSpan(0, 2));
                ctx.Complete(m.AsMemory(2));
            },
            (DeserializationContext ctx) => ctx.PayloadAsNewBuffer());
        var error = Assert.ThrowsAny<BrokenFrameException>(
            () => MessageFraming.WriteMessageAsync(writer, new byte[10], lying.ContextualSerializer, null, null, default).AsTask().GetAwaiter().GetResult());
        Assert.Contains("tail of 8", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Bytes(int size, int seed, bool compressible)
    {
        var bytes = new byte[size];
        var rng = new Random(seed);
        if (compressible)
        {
            for (var i = 0; i < size; i++)
            {
                bytes[i] = (byte)(i / 97 % 3);
            }
        }
        else
        {
            rng.NextBytes(bytes);
        }

        return bytes;
    }

    /// <summary>Hands the message over whole, through the buffer writer in pieces, or (tail) the part after a piece-sized head by reference.</summary>
    private static Action<byte[], SerializationContext> Serializer(bool direct, int piece, bool tail = false) =>
        (message, context) =>
        {
            if (!direct)
            {
                context.Complete(message);
                return;
            }

            context.SetPayloadLength(message.Length);
            var output = context.GetBufferWriter();
            var headLength = tail ? Math.Min(piece, message.Length) : message.Length;
            for (var offset = 0; offset < headLength; offset += piece)
            {
                var length = Math.Min(piece, headLength - offset);
                message.AsSpan(offset, length).CopyTo(output.GetSpan(length));
                output.Advance(length);
            }

            if (tail)
            {
                context.Complete(message.AsMemory(headLength));
            }
            else
            {
                context.Complete();
            }
        };

    private static byte[] Write(Message[] messages, string encoding)
    {
        var sink = new MemoryStream();
        var writer = PipeWriter.Create(sink, new StreamPipeWriterOptions(minimumBufferSize: 4096));
        foreach (var message in messages)
        {
            var open = MessageFraming.WriteMessageAsync(
                writer, message.Bytes, Serializer(message.Direct, message.Piece, message.Tail), message.Compressed ? encoding : null, null, default).AsTask().GetAwaiter().GetResult();
            Assert.True(open);
        }

        writer.Complete();
        return sink.ToArray();
    }

    /// <summary>Offsets where each frame ends, from the headers.</summary>
    private static List<int> FrameEnds(byte[] wire)
    {
        var ends = new List<int>();
        for (var offset = 0; offset < wire.Length;)
        {
            offset += MessageFraming.HeaderLength + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(wire.AsSpan(offset + 1));
            ends.Add(offset);
        }

        return ends;
    }

    private static List<byte[]> ReadAll(
        byte[] wire, string? encoding, int[] chunks, int bufferSize, int? maxMessageSize,
        StatusCode unsupported = StatusCode.Unimplemented, int expectedBeforeError = -1)
    {
        var reader = PipeReader.Create(new ChunkedStream(wire, chunks), new StreamPipeReaderOptions(bufferSize: bufferSize, minimumReadSize: Math.Min(bufferSize, 256)));
        var marshaller = new Marshaller<byte[]>((m, ctx) => ctx.Complete(m), (DeserializationContext ctx) => ctx.PayloadAsReadOnlySequence().ToArray());
        var read = new List<byte[]>();
        try
        {
            // Bounded: never more reads than bytes on the wire plus one for the end.
            for (var i = 0; i <= wire.Length; i++)
            {
                var message = MessageFraming.ReadMessageAsync(reader, marshaller.ContextualDeserializer, encoding, maxMessageSize, unsupported, default)
                    .AsTask().GetAwaiter().GetResult();
                if (message is null)
                {
                    return read;
                }

                read.Add(message);
            }

            throw new InvalidOperationException("The reader did not reach the end.");
        }
        catch (RpcException) when (expectedBeforeError >= 0)
        {
            Assert.Equal(expectedBeforeError, read.Count);
            throw;
        }
    }

    /// <summary>A write-only stream that keeps every buffer it was given (to see what was passed by reference) and the bytes.</summary>
    private sealed class RecordingStream : Stream
    {
        public List<ReadOnlyMemory<byte>> Writes { get; } = [];

        public MemoryStream Bytes { get; } = new();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Bytes.Length;
        public override long Position { get => Bytes.Length; set => throw new NotSupportedException(); }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer);
            Bytes.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>A stream that returns the bytes in the given chunk sizes (cycled), like DATA frames of arbitrary sizes.</summary>
    private sealed class ChunkedStream(byte[] data, int[] chunks) : Stream
    {
        private int _position;
        private int _chunk;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var size = chunks.Length == 0 ? buffer.Length : chunks[_chunk++ % chunks.Length];
            var count = Math.Min(Math.Min(size, buffer.Length), data.Length - _position);
            data.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
