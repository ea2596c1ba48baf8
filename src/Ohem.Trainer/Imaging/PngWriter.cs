using System.Buffers.Binary;
using System.IO.Compression;

namespace Ohem.Trainer.Imaging;

/// <summary>PNG colour types we write: 8 bits per sample.</summary>
public enum PngColor
{
    /// <summary>One byte per pixel.</summary>
    Grey = 0,

    /// <summary>Three bytes per pixel: red, green, blue.</summary>
    Rgb = 2,
}

/// <summary>
/// A minimal PNG encoder (no dependencies): IHDR, one zlib-compressed IDAT (filter None on every
/// row), IEND, each chunk with its CRC-32.
/// </summary>
public static class PngWriter
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Writes a PNG of <paramref name="pixels"/> (row-major, width x height x channels bytes) to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, int width, int height, PngColor color, ReadOnlySpan<byte> pixels)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var channels = color switch
        {
            PngColor.Grey => 1,
            PngColor.Rgb => 3,
            _ => throw new ArgumentException($"color is {(int)color}; expected Grey or Rgb.", nameof(color)),
        };
        var stride = (long)width * channels;
        if (pixels.Length != stride * height)
        {
            throw new ArgumentException($"pixels has {pixels.Length} bytes; expected width x height x channels = {width} x {height} x {channels}.", nameof(pixels));
        }

        stream.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bits per sample
        header[9] = (byte)color;
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering (we use filter 0, None, on every row)
        header[12] = 0; // no interlace
        WriteChunk(stream, "IHDR"u8, header);

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var y = 0; y < height; y++)
            {
                zlib.WriteByte(0);
                zlib.Write(pixels.Slice((int)(y * stride), (int)stride));
            }
        }

        WriteChunk(stream, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(stream, "IEND"u8, []);
    }

    /// <summary>The PNG file's bytes.</summary>
    public static byte[] Encode(int width, int height, PngColor color, ReadOnlySpan<byte> pixels)
    {
        using var memory = new MemoryStream();
        Write(memory, width, height, color, pixels);
        return memory.ToArray();
    }

    /// <summary>Writes the PNG to <paramref name="path"/>, replacing any file there.</summary>
    public static void Save(string path, int width, int height, PngColor color, ReadOnlySpan<byte> pixels)
    {
        using var file = File.Create(path);
        Write(file, width, height, color, pixels);
    }

    private static void WriteChunk(Stream stream, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        stream.Write(type);
        stream.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Compute(type), data)); // CRC over type and data
        stream.Write(word);
    }
}
