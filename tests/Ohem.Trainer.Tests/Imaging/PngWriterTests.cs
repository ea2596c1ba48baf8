using System.Buffers.Binary;
using System.Security.Cryptography;
using Ohem.Trainer.Imaging;
using Ohem.Trainer.Tests.Support;

namespace Ohem.Trainer.Tests.Imaging;

public sealed class PngWriterTests
{
    [Fact]
    public void Crc32_gives_the_standard_check_values()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8)); // the CRC-32/ISO-HDLC check value
        Assert.Equal(0xAE426082u, Crc32.Compute("IEND"u8)); // every PNG's last chunk CRC
        Assert.Equal(Crc32.Compute("123456789"u8), Crc32.Append(Crc32.Compute("1234"u8), "56789"u8));
    }

    [Fact]
    public void The_file_starts_with_the_signature_and_a_header_for_the_image()
    {
        var png = PngWriter.Encode(300, 2, PngColor.Rgb, new byte[300 * 2 * 3]);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8)));
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        Assert.Equal(300, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, png[24..29]);
        Assert.Equal(Crc32.Compute(png.AsSpan(12, 17)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(29)));
        Assert.Equal(new byte[] { 0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82 }, png[^12..]);
    }

    [Fact]
    public void Pixels_of_the_wrong_length_are_rejected_by_name()
    {
        Assert.Equal("pixels", Assert.Throws<ArgumentException>(() => PngWriter.Encode(4, 4, PngColor.Rgb, new byte[16])).ParamName);
        Assert.Equal("color", Assert.Throws<ArgumentException>(() => PngWriter.Encode(4, 4, (PngColor)6, new byte[64])).ParamName);
    }

    [NeedsFact(Needs.Pillow)]
    public void Grey_and_rgb_pngs_decode_to_the_same_pixels_in_python()
    {
        // Two independent decoders: Python's zlib + struct by hand (checking every chunk's CRC), and PIL.
        const string script = """
            import hashlib, struct, sys, zlib
            from PIL import Image
            for path in sys.argv[1:]:
                data = open(path, "rb").read()
                assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
                pos, idat, chunks = 8, b"", []
                while pos < len(data):
                    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
                    body = data[pos + 8:pos + 8 + n]
                    crc, = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
                    assert zlib.crc32(kind + body) == crc, f"CRC of {kind}"
                    chunks.append(kind.decode())
                    if kind == b"IHDR":
                        w, h, depth, colour = struct.unpack(">IIBB", body[:10])
                    if kind == b"IDAT":
                        idat += body
                    pos += 12 + n
                channels = {0: 1, 2: 3}[colour]
                raw = zlib.decompress(idat)
                stride = w * channels
                rows = [raw[y * (stride + 1):(y + 1) * (stride + 1)] for y in range(h)]
                assert all(r[0] == 0 for r in rows), "filter None"
                pixels = b"".join(r[1:] for r in rows)
                image = Image.open(path)
                image.load()
                print(w, h, depth, image.mode, "-".join(chunks), hashlib.sha256(pixels).hexdigest(), hashlib.sha256(image.tobytes()).hexdigest())
            """;
        var rng = new Random(3);
        var grey = new byte[37 * 23];
        var rgb = new byte[50 * 31 * 3];
        rng.NextBytes(grey);
        rng.NextBytes(rgb);
        var directory = Directory.CreateTempSubdirectory("ohem-png-").FullName;
        try
        {
            var greyPath = Path.Combine(directory, "grey.png");
            var rgbPath = Path.Combine(directory, "rgb.png");
            PngWriter.Save(greyPath, 37, 23, PngColor.Grey, grey);
            PngWriter.Save(rgbPath, 50, 31, PngColor.Rgb, rgb);
            var lines = DebianPython.Run("-c", script, greyPath, rgbPath).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var greyHash = Convert.ToHexStringLower(SHA256.HashData(grey));
            var rgbHash = Convert.ToHexStringLower(SHA256.HashData(rgb));
            Assert.Equal($"37 23 8 L IHDR-IDAT-IEND {greyHash} {greyHash}", lines[0].Trim());
            Assert.Equal($"50 31 8 RGB IHDR-IDAT-IEND {rgbHash} {rgbHash}", lines[1].Trim());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
