using System.Buffers;

namespace Ohem.Service.Mining;

/// <summary>
/// Reused buffers for batches' feature bytes. A batch's features are megabytes: parsed into a
/// fresh array each, every batch costs a large-object allocation, its zeroing, page faults and
/// background GCs (a third of the server's CPU per batch on the Mine stream, measured with perf);
/// from here the same one copy lands in a buffer that the previous batch used. Buffers are
/// returned when the batch has been scored (<see cref="Api.ReceivedBatch.Dispose"/>).
/// </summary>
public sealed class FeatureBufferPool
{
    /// <summary>Smaller feature payloads are parsed the usual way: pooling them saves nothing.</summary>
    public const int DefaultMinimumBytes = 64 * 1024;

    private readonly ArrayPool<byte> _pool;
    private int _outstanding;

    /// <param name="maxBufferBytes">The largest buffer kept for reuse (bigger ones are allocated and dropped).</param>
    /// <param name="buffersRetained">Idle buffers kept per size class.</param>
    /// <param name="minimumBytes">Feature payloads below this size are not pooled.</param>
    public FeatureBufferPool(int maxBufferBytes, int buffersRetained, int minimumBytes = DefaultMinimumBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBufferBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buffersRetained);
        ArgumentOutOfRangeException.ThrowIfNegative(minimumBytes);
        _pool = ArrayPool<byte>.Create(maxBufferBytes, buffersRetained);
        MinimumBytes = minimumBytes;
    }

    public int MinimumBytes { get; }

    /// <summary>Buffers rented and not yet returned (batches being decoded or scored).</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>A buffer of at least <paramref name="length"/> bytes, contents undefined.</summary>
    public byte[] Rent(int length)
    {
        var buffer = _pool.Rent(length);
        Interlocked.Increment(ref _outstanding);
        return buffer;
    }

    public void Return(byte[] buffer)
    {
        Interlocked.Decrement(ref _outstanding);
        _pool.Return(buffer);
    }
}
