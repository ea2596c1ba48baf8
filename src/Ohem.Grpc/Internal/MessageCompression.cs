using System.Buffers;
using System.IO.Compression;

namespace Ohem.Grpc.Internal;

/// <summary>
/// The message encodings we speak (grpc/grpc doc/compression.md): identity, gzip and deflate
/// (zlib format, as HTTP's "deflate"). Each message is compressed on its own, no shared context.
/// </summary>
internal static class MessageCompression
{
    public const string Identity = "identity";
    public const string Gzip = "gzip";
    public const string Deflate = "deflate";

    public static bool IsIdentity(string? encoding) =>
        string.IsNullOrEmpty(encoding) || encoding.Equals(Identity, StringComparison.OrdinalIgnoreCase);

    /// <summary>True for an encoding we can compress and decompress (identity excluded).</summary>
    public static bool IsSupported(string? encoding) =>
        encoding is not null
        && (encoding.Equals(Gzip, StringComparison.OrdinalIgnoreCase) || encoding.Equals(Deflate, StringComparison.OrdinalIgnoreCase));

    /// <summary>Null/identity, or a supported encoding name in lower case; throws for others.</summary>
    public static string? Validate(string? encoding, string paramName)
    {
        if (IsIdentity(encoding))
        {
            return null;
        }

        if (!IsSupported(encoding))
        {
            throw new ArgumentException($"Unsupported compression '{encoding}': use null, \"{Gzip}\" or \"{Deflate}\".", paramName);
        }

        return encoding!.ToLowerInvariant();
    }

    /// <summary>True when a comma-separated grpc-accept-encoding value lists <paramref name="encoding"/>.</summary>
    public static bool IsAccepted(string? acceptEncoding, string encoding)
    {
        if (acceptEncoding is null)
        {
            return false;
        }

        foreach (var part in acceptEncoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals(encoding, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public static void Compress(string encoding, ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        using var sink = new BufferWriterStream(output);
        using (var compressor = CreateCompressor(encoding, sink))
        {
            compressor.Write(payload);
        }
    }

    /// <summary>Decompresses into <paramref name="output"/>; false as soon as it grows past <paramref name="maxLength"/>.</summary>
    public static bool TryDecompress(string encoding, ReadOnlySequence<byte> payload, PooledBufferWriter output, int? maxLength)
    {
        using var source = new SequenceStream(payload);
        using var decompressor = CreateDecompressor(encoding, source);
        while (true)
        {
            var read = decompressor.Read(output.GetSpan(64 * 1024));
            if (read == 0)
            {
                return true;
            }

            output.Advance(read);
            if (output.WrittenCount > maxLength)
            {
                return false;
            }
        }
    }

    private static Stream CreateCompressor(string encoding, Stream sink) =>
        encoding.Equals(Gzip, StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(sink, CompressionLevel.Fastest, leaveOpen: true)
            : new ZLibStream(sink, CompressionLevel.Fastest, leaveOpen: true);

    private static Stream CreateDecompressor(string encoding, Stream source) =>
        encoding.Equals(Gzip, StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(source, CompressionMode.Decompress, leaveOpen: true)
            : new ZLibStream(source, CompressionMode.Decompress, leaveOpen: true);

    /// <summary>A write-only stream into an <see cref="IBufferWriter{T}"/>, for the compressors.</summary>
    private sealed class BufferWriterStream(IBufferWriter<byte> output) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer) => output.Write(buffer);

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>A read-only stream over a <see cref="ReadOnlySequence{T}"/>, for the decompressors.</summary>
    private sealed class SequenceStream(ReadOnlySequence<byte> sequence) : Stream
    {
        private ReadOnlySequence<byte> _remaining = sequence;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, _remaining.Length);
            _remaining.Slice(0, count).CopyTo(buffer);
            _remaining = _remaining.Slice(count);
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
