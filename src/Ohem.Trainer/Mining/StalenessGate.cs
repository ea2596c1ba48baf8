namespace Ohem.Trainer.Mining;

/// <summary>
/// Bounded staleness (<c>--max-staleness s</c>): a batch may be scored with head weights at most
/// <see cref="MaxStaleness"/> versions older than the trainer's own. s = 0 is the paper's synchronous
/// OHEM (scored with exactly the weights being trained); larger s lets the trainer send batch t + 1
/// while it trains on batch t. Versions start at 1 (the first publish); 0 means none yet.
/// </summary>
public readonly record struct StalenessGate
{
    /// <param name="maxStaleness">s, at least 0.</param>
    public StalenessGate(int maxStaleness)
    {
        if (maxStaleness < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxStaleness), maxStaleness, $"--max-staleness is {maxStaleness}; expected at least 0.");
        }

        MaxStaleness = maxStaleness;
    }

    /// <summary>s: how many versions behind the trainer's a scoring may be.</summary>
    public int MaxStaleness { get; }

    /// <summary>
    /// The oldest scoring version a trainer at <paramref name="trainerVersion"/> accepts:
    /// max(1, v - s). What a request sends as min_weights_version.
    /// </summary>
    public ulong MinimumVersion(ulong trainerVersion) =>
        trainerVersion > (ulong)MaxStaleness ? Math.Max(1UL, trainerVersion - (ulong)MaxStaleness) : 1UL;

    /// <summary>Whether a batch scored with <paramref name="scoredVersion"/> may train a trainer at <paramref name="trainerVersion"/>.</summary>
    public bool Accepts(ulong scoredVersion, ulong trainerVersion) => scoredVersion >= MinimumVersion(trainerVersion);

    /// <summary>
    /// Whether <paramref name="outcome"/> may be trained on by a trainer at
    /// <paramref name="trainerVersion"/>: in-process mining scores with the live weights and is always
    /// fresh; a miner's answer must meet <see cref="Accepts(ulong, ulong)"/> (the trainer may have moved
    /// on since the batch was sent).
    /// </summary>
    public bool Accepts(MiningOutcome outcome, ulong trainerVersion)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return !outcome.Remote || Accepts(outcome.Batch.WeightsVersion, trainerVersion);
    }
}
