using System.IO.Compression;
using Ohem.Trainer.Data;
using Ohem.Trainer.Tests.Support;

namespace Ohem.Trainer.Tests.Data;

public sealed class FashionMnistTests
{
    [NeedsFact(Needs.FashionMnist)]
    public void Splits_hold_60000_and_10000_images_balanced_over_ten_classes()
    {
        foreach (var (split, count) in new[] { ("train", 60_000), ("t10k", 10_000) })
        {
            var data = FashionMnist.Load(split);
            Assert.Equal(count, data.Count);
            var perClass = new int[10];
            for (var i = 0; i < data.Count; i++)
            {
                var label = data.Label(i);
                Assert.InRange(label, 0, 9);
                perClass[label]++;
            }

            // Fashion-MNIST is balanced: 6,000 / 1,000 images of every class.
            Assert.All(perClass, n => Assert.Equal(count / 10, n));
            Assert.Equal(FashionMnist.ImageBytes, data.Image(count - 1).Length);
        }
    }

    [NeedsFact(Needs.FashionMnist | Needs.Python)]
    public void Labels_and_pixels_match_what_pythons_gzip_reads()
    {
        // Read independently: Python's gzip and struct over the raw IDX bytes.
        const string script = """
            import gzip, struct, sys
            d = sys.argv[1]
            for split in ("train", "t10k"):
                with gzip.open(f"{d}/{split}-labels-idx1-ubyte.gz") as f:
                    magic, n = struct.unpack(">II", f.read(8)); labels = f.read(n)
                with gzip.open(f"{d}/{split}-images-idx3-ubyte.gz") as f:
                    magic, n, rows, cols = struct.unpack(">IIII", f.read(16)); images = f.read(n * rows * cols)
                img = lambda i: images[i * rows * cols:(i + 1) * rows * cols]
                print(split, n, labels[0], labels[n - 1], sum(labels), sum(img(0)), sum(img(n // 2)), img(n - 1)[14 * 28 + 14])
            """;
        var lines = DebianPython.Run("-c", script, FashionMnist.DefaultDirectory).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        foreach (var line in lines)
        {
            var f = line.Split(' ');
            var data = FashionMnist.Load(f[0]);
            var n = data.Count;
            long labelSum = 0;
            for (var i = 0; i < n; i++)
            {
                labelSum += data.Label(i);
            }

            var actual = $"{f[0]} {n} {data.Label(0)} {data.Label(n - 1)} {labelSum} {Sum(data.Image(0))} {Sum(data.Image(n / 2))} {data.Image(n - 1)[(14 * 28) + 14]}";
            Assert.Equal(line.Trim(), actual);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Loading_again_returns_the_same_instance()
    {
        Assert.Same(FashionMnist.Load("t10k"), FashionMnist.Load("t10k", FashionMnist.DefaultDirectory));
    }

    [Fact]
    public void A_missing_file_names_the_path_and_the_package()
    {
        var directory = Path.Combine(Path.GetTempPath(), "ohem-no-fashion-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load("train", directory));
        Assert.Contains(Path.Combine(directory, "train-labels-idx1-ubyte.gz"), e.Message, StringComparison.Ordinal);
        Assert.Contains("dataset-fashion-mnist", e.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/setup.sh", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_split_is_rejected_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => FashionMnist.Load("test"));
        Assert.Equal("split", e.ParamName);
        Assert.Contains("\"t10k\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_with_the_wrong_magic_or_too_short_is_invalid_data()
    {
        var directory = Directory.CreateTempSubdirectory("ohem-fashion-").FullName;
        try
        {
            WriteGz(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz"), [0, 0, 8, 3, 0, 0, 0, 1, 5]);
            var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load("t10k", directory));
            Assert.Contains("0x00000803", e.Message, StringComparison.Ordinal);
            Assert.Contains("0x00000801", e.Message, StringComparison.Ordinal);

            WriteGz(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz"), [0, 0, 8, 1, 0, 0, 0, 3, 5]);
            e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load("t10k", directory));
            Assert.Contains("3 bytes", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Class_names_are_fashion_mnists_ten()
    {
        Assert.Equal(10, FashionMnist.ClassNames.Count);
        Assert.Equal("T-shirt/top", FashionMnist.ClassNames[0]);
        Assert.Equal("Ankle boot", FashionMnist.ClassNames[9]);
    }

    private static long Sum(ReadOnlySpan<byte> bytes)
    {
        long s = 0;
        foreach (var b in bytes)
        {
            s += b;
        }

        return s;
    }

    private static void WriteGz(string path, byte[] content)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(content);
    }
}
