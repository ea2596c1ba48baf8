namespace Ohem.Trainer.Mining;

/// <summary>How a trainer falls back to in-process mining when the miner service fails.</summary>
public sealed record FailoverOptions
{
    /// <summary>
    /// While the miner is down, try it again at most this often (a probe costs the client's retries,
    /// or nothing once its circuit is open); the batches between are mined in-process at once.
    /// </summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest one remote call (mining a batch, publishing a version) may take before the batch is
    /// mined in-process and the miner counted as down. Covers the miner's wait for a weights version.
    /// </summary>
    public TimeSpan RemoteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        if (ProbeInterval < TimeSpan.Zero)
        {
            throw new ArgumentException($"FailoverOptions.ProbeInterval is {ProbeInterval}; expected at least 0.", nameof(ProbeInterval));
        }

        if (RemoteTimeout <= TimeSpan.Zero && RemoteTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"FailoverOptions.RemoteTimeout is {RemoteTimeout}; expected above 0 (or infinite).", nameof(RemoteTimeout));
        }
    }
}
