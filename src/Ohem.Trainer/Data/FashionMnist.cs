using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;

namespace Ohem.Trainer.Data;

/// <summary>
/// One split of Fashion-MNIST (Debian's dataset-fashion-mnist: gzipped IDX files, 28x28 grey
/// images, labels 0..9), read once per process and shared: loading the same split and directory
/// again returns the same instance.
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Image height and width in pixels.</summary>
    public const int Side = 28;

    /// <summary>Bytes per image (28 x 28, one byte per pixel, 0 = black).</summary>
    public const int ImageBytes = Side * Side;

    private const int LabelMagic = 0x00000801; // unsigned byte, 1 dimension
    private const int ImageMagic = 0x00000803; // unsigned byte, 3 dimensions

    private static readonly ConcurrentDictionary<string, Lazy<FashionMnist>> Loaded = new(StringComparer.Ordinal);

    private static readonly string[] Names =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    private readonly byte[] _images;
    private readonly byte[] _labels;

    private FashionMnist(string split, string directory, byte[] images, byte[] labels)
    {
        Split = split;
        Directory = directory;
        _images = images;
        _labels = labels;
    }

    /// <summary>The 10 class names, index = label (0..9); detection class k (1..10) is ClassNames[k - 1].</summary>
    public static IReadOnlyList<string> ClassNames => Names;

    /// <summary>"train" (60,000 images) or "t10k" (10,000).</summary>
    public string Split { get; }

    /// <summary>The directory the files were read from (full path).</summary>
    public string Directory { get; }

    public int Count => _labels.Length;

    /// <summary>
    /// Loads <paramref name="split"/> ("train" or "t10k") from <paramref name="directory"/>
    /// (default <see cref="DefaultDirectory"/>), or returns the copy already loaded.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it and the package.</exception>
    /// <exception cref="InvalidDataException">A file is not the IDX layout expected.</exception>
    public static FashionMnist Load(string split, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(split);
        if (split is not ("train" or "t10k"))
        {
            throw new ArgumentException($"split is \"{split}\"; expected \"train\" or \"t10k\".", nameof(split));
        }

        var full = Path.GetFullPath(directory ?? DefaultDirectory);
        var key = full + "\n" + split;
        var lazy = Loaded.GetOrAdd(key, _ => new Lazy<FashionMnist>(() => Read(split, full)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // Do not cache a failure: the files may be installed later in the same process.
            Loaded.TryRemove(new KeyValuePair<string, Lazy<FashionMnist>>(key, lazy));
            throw;
        }
    }

    /// <summary>The 784 pixels of image <paramref name="index"/>, row-major, 0 (black) .. 255.</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        CheckIndex(index);
        return _images.AsSpan(index * ImageBytes, ImageBytes);
    }

    /// <summary>The class of image <paramref name="index"/>, 0..9.</summary>
    public int Label(int index)
    {
        CheckIndex(index);
        return _labels[index];
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)_labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Fashion-MNIST {Split} has {_labels.Length} images (0..{_labels.Length - 1}).");
        }
    }

    private static FashionMnist Read(string split, string directory)
    {
        var labelPath = Path.Combine(directory, $"{split}-labels-idx1-ubyte.gz");
        var imagePath = Path.Combine(directory, $"{split}-images-idx3-ubyte.gz");
        var labels = ReadIdx(labelPath, LabelMagic, out var labelDims);
        var images = ReadIdx(imagePath, ImageMagic, out var imageDims);
        if (imageDims[1] != Side || imageDims[2] != Side)
        {
            throw new InvalidDataException($"{imagePath}: images are {imageDims[1]}x{imageDims[2]}; expected {Side}x{Side}.");
        }

        if (imageDims[0] != labelDims[0])
        {
            throw new InvalidDataException($"{imagePath} holds {imageDims[0]} images but {labelPath} holds {labelDims[0]} labels.");
        }

        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= Names.Length)
            {
                throw new InvalidDataException($"{labelPath}: label {i} is {labels[i]}; expected 0..{Names.Length - 1}.");
            }
        }

        return new FashionMnist(split, directory, images, labels);
    }

    /// <summary>Reads a gzipped IDX file of unsigned bytes: big-endian magic, one int32 per dimension, the data.</summary>
    private static byte[] ReadIdx(string path, int magic, out int[] dims)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"Fashion-MNIST file {path} not found: install the Debian package dataset-fashion-mnist (scripts/setup.sh does), or pass the directory that holds it.",
                path);
        }

        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        Span<byte> word = stackalloc byte[4];
        gzip.ReadExactly(word);
        var found = BinaryPrimitives.ReadInt32BigEndian(word);
        if (found != magic)
        {
            throw new InvalidDataException($"{path}: IDX magic is 0x{found:X8}; expected 0x{magic:X8}.");
        }

        dims = new int[magic & 0xFF];
        long total = 1;
        for (var d = 0; d < dims.Length; d++)
        {
            gzip.ReadExactly(word);
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[d] <= 0)
            {
                throw new InvalidDataException($"{path}: dimension {d} is {dims[d]}; expected a positive size.");
            }

            total *= dims[d];
        }

        if (total > Array.MaxLength)
        {
            throw new InvalidDataException($"{path}: {total} bytes of data is more than one array holds.");
        }

        var data = new byte[total];
        try
        {
            gzip.ReadExactly(data);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: ends before the {total} bytes its header announces.", e);
        }

        return data;
    }
}
