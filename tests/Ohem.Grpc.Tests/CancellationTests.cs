using Microsoft.AspNetCore.Http.Features;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;
using Ohem.Testing;

namespace Ohem.Grpc.Tests;

/// <summary>Cancellation both ways: a client that gives up resets the stream and the handler's token fires; a server that resets or goes away surfaces as a status.</summary>
public sealed class CancellationTests
{
    private static readonly Method<Payload, Payload> Hang = TestMethods.Custom(MethodType.ServerStreaming, "Hang");
    private static readonly Method<Payload, Payload> HangDuplex = TestMethods.Custom(MethodType.DuplexStreaming, "HangDuplex");

    /// <summary>Writes one message, then (per request.StatusCode) resets the stream with that HTTP/2 code, aborts, or waits for cancellation.</summary>
    private sealed class HangingService
    {
        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set by the test once it has read the first message: HttpClient drops received data when a reset arrives.</summary>
        public TaskCompletionSource Proceed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ServerServiceDefinition Definition() =>
            ServerServiceDefinition.CreateBuilder()
                .AddMethod(Hang, async (Payload request, IServerStreamWriter<Payload> responses, ServerCallContext context) =>
                {
                    await responses.WriteAsync(new Payload { Id = 1 });
                    if (request.Text is "reset" or "abort")
                    {
                        await Proceed.Task.Within();
                    }

                    switch (request.Text)
                    {
                        case "reset":
                            context.GetHttpContext().Features.GetRequiredFeature<IHttpResetFeature>().Reset(request.Id);
                            break;
                        case "abort":
                            context.GetHttpContext().Abort();
                            break;
                    }

                    await WaitForCancellationAsync(context);
                })
                .AddMethod(HangDuplex, async (IAsyncStreamReader<Payload> requests, IServerStreamWriter<Payload> responses, ServerCallContext context) =>
                {
                    await requests.MoveNext(context.CancellationToken);
                    await responses.WriteAsync(new Payload { Id = 1 });
                    await WaitForCancellationAsync(context);
                })
                .Build();

        private async Task WaitForCancellationAsync(ServerCallContext context)
        {
            try
            {
                await Task.Delay(Bounded.Timeout, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled.TrySetResult();
                throw;
            }
        }
    }

    [Fact]
    public async Task Client_cancellation_fails_the_call_with_cancelled_and_fires_the_server_token()
    {
        var service = new HangingService();
        await using var server = await TestServer.StartAsync(service.Definition());
        using var channel = server.CreateChannel();
        using var cts = new CancellationTokenSource();

        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(Hang, null, new CallOptions(cancellationToken: cts.Token), new Payload());
        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        var next = call.ResponseStream.MoveNext(default);
        await cts.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => next.Within());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        await service.Cancelled.Task.Within();
    }

    [Fact]
    public async Task Disposing_a_duplex_call_fires_the_server_token()
    {
        var service = new HangingService();
        await using var server = await TestServer.StartAsync(service.Definition());
        using var channel = server.CreateChannel();

        var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(HangDuplex, null, new CallOptions(deadline: Bounded.Deadline));
        await call.RequestStream.WriteAsync(new Payload()).Within();
        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        call.Dispose();

        await service.Cancelled.Task.Within();
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new Payload()).Within());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task Cancelling_one_read_cancels_the_call()
    {
        var service = new HangingService();
        await using var server = await TestServer.StartAsync(service.Definition());
        using var channel = server.CreateChannel();
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(Hang, null, new CallOptions(deadline: Bounded.Deadline), new Payload());
        Assert.True(await call.ResponseStream.MoveNext(default).Within());

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(cts.Token).Within());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await service.Cancelled.Task.Within();
    }

    [Fact]
    public async Task A_token_cancelled_before_the_call_gives_cancelled()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel();
        var call = channel.CreateCallInvoker().AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(cancellationToken: new CancellationToken(true)), new Payload());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Theory]
    [InlineData(0x8, StatusCode.Cancelled)]           // CANCEL
    [InlineData(0x2, StatusCode.Internal)]            // INTERNAL_ERROR
    [InlineData(0xB, StatusCode.ResourceExhausted)]   // ENHANCE_YOUR_CALM
    public async Task Server_reset_maps_to_the_spec_status(int http2Code, StatusCode expected)
    {
        var service = new HangingService();
        await using var server = await TestServer.StartAsync(service.Definition());
        using var channel = server.CreateChannel();
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(
            Hang, null, new CallOptions(deadline: Bounded.Deadline), new Payload { Text = "reset", Id = http2Code });

        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        service.Proceed.SetResult();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(expected, error.StatusCode);
    }

    [Fact]
    public async Task Server_abort_fails_the_call()
    {
        var service = new HangingService();
        await using var server = await TestServer.StartAsync(service.Definition());
        using var channel = server.CreateChannel();
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(
            Hang, null, new CallOptions(deadline: Bounded.Deadline), new Payload { Text = "abort" });

        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        service.Proceed.SetResult();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(default).Within());
        // Kestrel aborts an HTTP/2 stream with RST_STREAM INTERNAL_ERROR: INTERNAL per the spec's table.
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task Server_going_away_mid_call_is_unavailable()
    {
        var service = new HangingService();
        var server = await TestServer.StartAsync(service.Definition());
        using var channel = server.CreateChannel();
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(Hang, null, new CallOptions(deadline: Bounded.Deadline), new Payload());
        Assert.True(await call.ResponseStream.MoveNext(default).Within());

        var next = call.ResponseStream.MoveNext(default);
        await server.StopAsync(TimeSpan.FromMilliseconds(500)); // the graceful stop times out on the hanging call, then drops the connection

        var error = await Assert.ThrowsAsync<RpcException>(() => next.Within());
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task Connection_refused_is_unavailable()
    {
        // A port held by a socket that never listens: nothing can listen there while the test runs.
        using var dead = ReservedPort.Reserve();
        using var channel = GrpcChannel.ForAddress(dead.Http);
        var call = channel.CreateCallInvoker().AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(deadline: Bounded.Deadline), new Payload());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        await Assert.ThrowsAsync<RpcException>(() => call.ResponseHeadersAsync.Within());
    }
}
