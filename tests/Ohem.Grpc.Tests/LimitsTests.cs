using Google.Protobuf;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>Big messages where the limits allow them, RESOURCE_EXHAUSTED where they do not, in both directions.</summary>
public sealed class LimitsTests
{
    private const int Big = 32 << 20;

    private static ByteString RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }

    private static CallOptions Options => new(deadline: Bounded.Deadline);

    [Fact]
    public async Task Messages_of_32_MB_go_both_ways_when_the_limits_are_raised()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition(), new GrpcServerOptions { MaxReceiveMessageSize = 64 << 20 });
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
        var invoker = channel.CreateCallInvoker();

        var data = RandomBytes(Big, 1);
        var response = await invoker.AsyncUnaryCall(TestMethods.Unary, null, Options, new Payload { Id = 1, Data = data }).ResponseAsync.Within();
        Assert.Equal(data, response.Data);

        // Three 16 MB messages on one request stream: 48 MB, beyond Kestrel's 30 MB per-stream default.
        using var call = invoker.AsyncClientStreamingCall(TestMethods.ClientStream, null, Options);
        var parts = Enumerable.Range(0, 3).Select(i => RandomBytes(16 << 20, 10 + i)).ToArray();
        foreach (var part in parts)
        {
            await call.RequestStream.WriteAsync(new Payload { Id = 1, Data = part }).Within();
        }

        await call.RequestStream.CompleteAsync().Within();
        var joined = await call.ResponseAsync.Within();
        Assert.Equal(3, joined.Count);
        Assert.Equal(parts.SelectMany(p => p.ToByteArray()).ToArray(), joined.Data.ToByteArray());

        // And a stream of big responses.
        using var stream = invoker.AsyncServerStreamingCall(TestMethods.ServerStream, null, Options, new Payload { Count = 3, Data = data });
        var received = 0;
        while (await stream.ResponseStream.MoveNext(default).Within())
        {
            Assert.Equal(data, stream.ResponseStream.Current.Data);
            received++;
        }

        Assert.Equal(3, received);
    }

    [Fact]
    public async Task Request_over_the_servers_default_4_MB_is_resource_exhausted_naming_the_sizes()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel();
        var call = channel.CreateCallInvoker().AsyncUnaryCall(TestMethods.Unary, null, Options, new Payload { Data = RandomBytes(5 << 20, 2) });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains((4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compressed_request_over_the_limit_once_decompressed_is_resource_exhausted()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel(new GrpcChannelOptions { RequestCompression = "gzip" });
        // 8 MB of zeros: a few kB on the wire, twice the limit once inflated.
        var call = channel.CreateCallInvoker().AsyncUnaryCall(TestMethods.Unary, null, Options, new Payload { Data = ByteString.CopyFrom(new byte[8 << 20]) });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("decompressed", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Response_over_the_clients_limit_is_resource_exhausted()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = 1 << 20 });
        var invoker = channel.CreateCallInvoker();
        var call = invoker.AsyncUnaryCall(TestMethods.Unary, null, Options, new Payload { Data = RandomBytes(2 << 20, 3) });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("1048576", error.Status.Detail, StringComparison.Ordinal);

        // The channel is still fine for calls within the limit.
        var small = await invoker.AsyncUnaryCall(TestMethods.Unary, null, Options, new Payload { Id = 1 }).ResponseAsync.Within();
        Assert.Equal(2, small.Id);
    }

    [Fact]
    public async Task Request_over_the_clients_send_limit_fails_locally()
    {
        var recorder = new RecordingHandler();
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxSendMessageSize = 1000, HttpHandler = recorder, DisposeHttpHandler = true });
        var invoker = channel.CreateCallInvoker();

        var unary = invoker.AsyncUnaryCall(TestMethods.Unary, null, Options, new Payload { Data = RandomBytes(2000, 4) });
        var error = await Assert.ThrowsAsync<RpcException>(() => unary.ResponseAsync.Within());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("> 1000", error.Status.Detail, StringComparison.Ordinal);

        using var streaming = invoker.AsyncClientStreamingCall(TestMethods.ClientStream, null, Options);
        await streaming.RequestStream.WriteAsync(new Payload { Id = 1 }).Within();
        var writeError = await Assert.ThrowsAsync<RpcException>(() => streaming.RequestStream.WriteAsync(new Payload { Data = RandomBytes(2000, 5) }).Within());
        Assert.Equal(StatusCode.ResourceExhausted, writeError.StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, (await Assert.ThrowsAsync<RpcException>(() => streaming.ResponseAsync.Within())).StatusCode);
    }

    [Fact]
    public async Task Response_over_the_servers_send_limit_is_resource_exhausted()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition(), new GrpcServerOptions { MaxSendMessageSize = 1000 });
        using var channel = server.CreateChannel();
        var call = channel.CreateCallInvoker().AsyncUnaryCall(TestMethods.Unary, null, Options, new Payload { Data = RandomBytes(2000, 6) });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("> 1000", error.Status.Detail, StringComparison.Ordinal);
    }
}
