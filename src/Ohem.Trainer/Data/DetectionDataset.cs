namespace Ohem.Trainer.Data;

/// <summary>
/// A fixed set of detection canvases with their proposals. Train canvases draw items from
/// Fashion-MNIST "train"; Validation from the first half of "t10k" (images 0..4999) and Test from
/// the second (5000..9999), so no item image is shared between splits. Canvases and proposals are
/// made on first use and cached (about 64 KB + 80 KB per canvas at the defaults); every access is
/// thread-safe and the content depends only on (split, seed, index, options).
/// </summary>
public sealed class DetectionDataset
{
    /// <summary>Object classes (Fashion-MNIST's 10), K; labels are 1..K.</summary>
    public const int NumClasses = 10;

    private const ulong SplitStream = 0x53504C4954; // "SPLIT"
    private const ulong ProposalSeedStream = 0x50524F5053454544; // "PROPSEED"

    private readonly Canvas?[] _canvases;
    private readonly ProposalSet?[] _proposals;

    private DetectionDataset(DetectionSplit split, int count, int seed, CanvasGenerator generator, ProposalOptions proposals)
    {
        Split = split;
        Count = count;
        Seed = seed;
        Generator = generator;
        ProposalOptions = proposals;
        _canvases = new Canvas?[count];
        _proposals = new ProposalSet?[count];
    }

    public DetectionSplit Split { get; }

    public int Count { get; }

    public int Seed { get; }

    /// <summary>Canvas width and height in pixels.</summary>
    public int ImageSize => Generator.Options.Size;

    public CanvasGenerator Generator { get; }

    public CanvasOptions CanvasOptions => Generator.Options;

    public ProposalOptions ProposalOptions { get; }

    /// <summary>
    /// <paramref name="count"/> canvases of <paramref name="split"/>; <paramref name="directory"/>
    /// holds Fashion-MNIST (default Debian's, <see cref="FashionMnist.DefaultDirectory"/>).
    /// </summary>
    public static DetectionDataset Create(
        DetectionSplit split, int count, int seed, CanvasOptions? canvas = null, ProposalOptions? proposals = null, string? directory = null)
    {
        if (!Enum.IsDefined(split))
        {
            throw new ArgumentException($"split is {(int)split}; expected Train, Validation or Test.", nameof(split));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(count);
        proposals ??= new ProposalOptions();
        proposals.Validate();
        var source = FashionMnist.Load(split == DetectionSplit.Train ? "train" : "t10k", directory);
        var half = source.Count / 2;
        var items = split switch
        {
            DetectionSplit.Train => Range.All,
            DetectionSplit.Validation => new Range(0, half),
            _ => new Range(half, source.Count),
        };
        var generator = new CanvasGenerator(source, canvas ?? new CanvasOptions(), SeededRandom.DeriveSeed(seed, SplitStream, (long)split), items);
        return new DetectionDataset(split, count, seed, generator, proposals);
    }

    /// <summary>Canvas <paramref name="index"/> (0..Count-1).</summary>
    public Canvas Canvas(int index)
    {
        CheckIndex(index);
        var canvas = Volatile.Read(ref _canvases[index]);
        if (canvas is null)
        {
            // Racing threads build equal canvases; the first one stored wins.
            canvas = Generator.Generate(index);
            canvas = Interlocked.CompareExchange(ref _canvases[index], canvas, null) ?? canvas;
        }

        return canvas;
    }

    /// <summary>The proposals of canvas <paramref name="index"/>, labelled against its ground truth.</summary>
    public ProposalSet Proposals(int index)
    {
        CheckIndex(index);
        var set = Volatile.Read(ref _proposals[index]);
        if (set is null)
        {
            var seed = SeededRandom.DeriveSeed(Seed, ProposalSeedStream, ((long)Split << 32) | (uint)index);
            set = Data.Proposals.Generate(Canvas(index), ProposalOptions, seed);
            set = Interlocked.CompareExchange(ref _proposals[index], set, null) ?? set;
        }

        return set;
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the {Split} dataset has {Count} canvases (0..{Count - 1}).");
        }
    }
}
