using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ohem.Service.Transport;

/// <summary>
/// Kestrel set up for gRPC calls that carry megabyte messages (a miner's feature maps). Measured
/// on one Mine stream on loopback (3.9 MB messages, 2 cores): Kestrel's CPU per message halves
/// with 256 KiB blocks (64 KiB gets most of it, 1 MiB little more); the windows let a few
/// messages be in flight (wider ones, up to 2^31-1, measured no faster; nor did the socket
/// transport's inline scheduling, IOQueueCount or MaxReadBufferSize).
/// </summary>
public static class LargeMessageTransportExtensions
{
    /// <summary>Kestrel's buffer block size (Kestrel's own is 4 KiB): up to this much per socket read.</summary>
    public const int DefaultBlockSize = 256 * 1024;

    /// <summary>Idle blocks kept for reuse (64 MiB at the default size); more go back to the GC.</summary>
    public const int DefaultMaxIdleBlocks = 256;

    /// <summary>
    /// HTTP/2 windows of 16 MiB per stream and 32 MiB per connection, 1 MiB frames, and Kestrel's
    /// buffers in <paramref name="blockSize"/> pinned blocks. Call it after the host has Kestrel
    /// (WebApplication.CreateBuilder / CreateSlimBuilder already do).
    /// </summary>
    public static IWebHostBuilder UseLargeMessageTransport(this IWebHostBuilder builder, int blockSize = DefaultBlockSize, int maxIdleBlocks = DefaultMaxIdleBlocks)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 4096);
        ArgumentOutOfRangeException.ThrowIfNegative(maxIdleBlocks);
        builder.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.Http2.InitialConnectionWindowSize = 32 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 16 << 20;
            // HttpClient sends 16 KiB DATA frames whatever we allow; other clients may send bigger.
            kestrel.Limits.Http2.MaxFrameSize = (1 << 20) - 1;
        });
        builder.ConfigureServices(services =>
            services.Replace(ServiceDescriptor.Singleton<IMemoryPoolFactory<byte>>(new LargeBlockMemoryPoolFactory(blockSize, maxIdleBlocks))));
        return builder;
    }
}
