using System.Buffers;
using System.Collections.Concurrent;

namespace Ohem.Service.Transport;

/// <summary>
/// Kestrel's buffers in big pinned blocks. Kestrel's own pool hands out 4 KiB blocks, so each
/// socket read takes at most 4 KiB and a 4 MB message spreads over about a thousand segments in
/// each of Kestrel's pipes; with 256 KiB blocks a read takes up to a block and the pipes hold a
/// few dozen. Blocks are pinned (sockets read into them) and reused; at most
/// <paramref name="maxRetained"/> idle ones are kept, the rest go back to the GC.
/// </summary>
internal sealed class LargeBlockMemoryPool(int blockSize, int maxRetained) : MemoryPool<byte>
{
    private readonly ConcurrentQueue<Block> _idle = new();
    private int _idleCount;
    private long _allocated;

    public override int MaxBufferSize => blockSize;

    /// <summary>Blocks allocated so far (for tests: reuse keeps it flat).</summary>
    public long Allocated => Interlocked.Read(ref _allocated);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > blockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"at most {blockSize} bytes per block.");
        }

        if (_idle.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _idleCount);
        }
        else
        {
            block = new Block(this, GC.AllocateUninitializedArray<byte>(blockSize, pinned: true));
            Interlocked.Increment(ref _allocated);
        }

        block.Lease();
        return block;
    }

    protected override void Dispose(bool disposing)
    {
        _idle.Clear();
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _idleCount) <= maxRetained)
        {
            _idle.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _idleCount);
        }
    }

    /// <summary>One block; disposing it hands it back (once: a second Dispose does nothing).</summary>
    private sealed class Block(LargeBlockMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private int _leased;

        public Memory<byte> Memory => array;

        public void Lease() => Volatile.Write(ref _leased, 1);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _leased, 0) == 1)
            {
                pool.Return(this);
            }
        }
    }
}
