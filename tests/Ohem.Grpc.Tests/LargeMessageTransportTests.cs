using Google.Protobuf;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Ohem.Grpc.Server;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>Kestrel with <see cref="LargeMessageTransportExtensions.UseLargeMessageTransport"/>: it reads through the big-block pool, and messages arrive intact.</summary>
public sealed class LargeMessageTransportTests
{
    [Fact]
    public async Task Kestrel_reads_through_the_big_blocks_and_big_and_small_messages_arrive_intact()
    {
        await using var server = await TestServer.StartAsync(
            endpoints => endpoints.MapGrpcService(TestServiceImpl.Definition(), new GrpcServerOptions { MaxReceiveMessageSize = 16 << 20 }),
            host: web => web.UseLargeMessageTransport(blockSize: 64 * 1024));
        var factory = Assert.IsType<LargeBlockMemoryPoolFactory>(server.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = 16 << 20 });
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(TestMethods.Duplex, null, new CallOptions(deadline: Bounded.Deadline));

        // Sizes around the block size and the 16 KiB HTTP/2 frames, and a few megabytes.
        var rng = new Random(7);
        int[] sizes = [0, 1, 16383, 16384, 65535, 65536, 65537, 3 << 20, (4 << 20) + 13, 100];
        foreach (var (size, id) in sizes.Select((s, i) => (s, i)))
        {
            var data = new byte[size];
            rng.NextBytes(data);
            await call.RequestStream.WriteAsync(new Payload { Id = id, Data = ByteString.CopyFrom(data) }).Within();
            Assert.True(await call.ResponseStream.MoveNext(default).Within());
            Assert.Equal(id + 1, call.ResponseStream.Current.Id);
            Assert.True(data.AsSpan().SequenceEqual(call.ResponseStream.Current.Data.Span), $"message {id} ({size} bytes) came back changed");
        }

        await call.RequestStream.CompleteAsync().Within();
        Assert.False(await call.ResponseStream.MoveNext(default).Within());
        Assert.True(factory.Created >= 1, "Kestrel never asked the big-block factory for a pool");
    }

    [Fact]
    public void Bad_settings_name_the_parameter()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        Assert.Equal("blockSize", Assert.Throws<ArgumentOutOfRangeException>(() => builder.WebHost.UseLargeMessageTransport(blockSize: 1024)).ParamName);
        Assert.Equal("maxIdleBlocks", Assert.Throws<ArgumentOutOfRangeException>(() => builder.WebHost.UseLargeMessageTransport(maxIdleBlocks: -1)).ParamName);
    }
}
