using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace Ohem.Service.Transport;

/// <summary>
/// Gives Kestrel <see cref="LargeBlockMemoryPool"/>s: registered as the IMemoryPoolFactory
/// service, it is what Kestrel's socket transport asks for a pool per listener.
/// </summary>
internal sealed class LargeBlockMemoryPoolFactory(int blockSize, int maxRetained) : IMemoryPoolFactory<byte>
{
    private int _created;

    /// <summary>Pools created so far (for tests: proves Kestrel took this factory).</summary>
    public int Created => Volatile.Read(ref _created);

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        Interlocked.Increment(ref _created);
        return new LargeBlockMemoryPool(blockSize, maxRetained);
    }
}
