using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Ohem.Grpc.Internal;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>Deadlines on both sides: the server enforces grpc-timeout itself, the client enforces its deadline itself.</summary>
public sealed class DeadlineTests
{
    private static readonly Method<Payload, Payload> Wait = TestMethods.Custom(MethodType.Unary, "Wait");
    private static readonly Method<Payload, Payload> WaitStreaming = TestMethods.Custom(MethodType.ServerStreaming, "WaitStreaming");

    [Fact]
    public async Task Server_deadline_fires_the_handler_token_and_answers_deadline_exceeded()
    {
        var deadline = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var service = ServerServiceDefinition.CreateBuilder().AddMethod(Wait, async (request, context) =>
        {
            deadline.SetResult(context.Deadline);
            try
            {
                await Task.Delay(Bounded.Timeout, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                cancelled.SetResult();
                throw;
            }

            return request;
        }).Build();
        await using var server = await TestServer.StartAsync(service);

        // A plain HTTP client that never gives up by itself: only the server's deadline ends this call.
        var sent = DateTime.UtcNow;
        var response = await RawGrpc.SendAsync(server.Address, Wait.FullName, RawGrpc.Frame(new Payload()), [("grpc-timeout", "800m")]);

        Assert.Equal("4", response.Header("grpc-status") ?? response.Trailer("grpc-status"));
        await cancelled.Task.Within();
        var seen = await deadline.Task.Within();
        // The deadline is 800 ms after the request arrived. Timers run on a coarse monotonic clock
        // (4 ms ticks on Linux) and may fire a few ms before DateTime.UtcNow reaches the deadline,
        // so on a fast machine the call can be over a little before it: allow 100 ms each way.
        var slack = TimeSpan.FromMilliseconds(100);
        Assert.InRange(seen, sent + TimeSpan.FromMilliseconds(800) - slack, DateTime.UtcNow + slack);
        Assert.Equal(DateTimeKind.Utc, seen.Kind);
    }

    [Fact]
    public async Task Server_deadline_ends_the_call_even_when_the_handler_ignores_its_token()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lateWrite = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var service = ServerServiceDefinition.CreateBuilder()
            .AddMethod(WaitStreaming, async (Payload request, IServerStreamWriter<Payload> responses, ServerCallContext context) =>
            {
                await responses.WriteAsync(new Payload { Id = 1 });
                await release.Task.Within();
                try
                {
                    await responses.WriteAsync(new Payload { Id = 2 });
                    lateWrite.SetResult(null);
                }
                catch (Exception ex)
                {
                    lateWrite.SetResult(ex);
                }
            })
            .Build();
        await using var server = await TestServer.StartAsync(service);
        try
        {
            // The first message must be on the wire before the deadline: 5 s leaves room for a cold
            // start (JIT) of the server's write path on a loaded machine.
            var response = await RawGrpc.SendAsync(server.Address, WaitStreaming.FullName, RawGrpc.Frame(new Payload()), [("grpc-timeout", "5S")]);
            Assert.Equal("4", response.Trailer("grpc-status"));
            Assert.Equal(RawGrpc.Frame(new Payload { Id = 1 }), response.Body);
        }
        finally
        {
            release.SetResult();
        }

        // The handler's late write is refused: the call is over.
        Assert.IsAssignableFrom<Exception>(await lateWrite.Task.Within());
    }

    [Fact]
    public async Task Client_deadline_fails_the_call_and_resets_the_stream_even_if_the_server_ignores_it()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Not a gRPC server: answers headers, then never ends the response until the stream is reset.
        await using var server = await TestServer.StartAsync(endpoints =>
        {
            endpoints.MapGrpcService(TestServiceImpl.Definition());
            endpoints.MapPost(Wait.FullName, async context =>
            {
                // Under load the client's reset can come before the headers are even flushed.
                using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
                context.Response.ContentType = "application/grpc";
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(Bounded.Timeout, context.RequestAborted);
            });
        });
        using var channel = server.CreateChannel();

        // Open the connection first, and give the request 2 s, so it surely reaches the server before
        // the deadline (else nothing is there to reset), even on a loaded machine.
        await ServiceChecks.UnaryAsync(channel.CreateCallInvoker());
        var call = channel.CreateCallInvoker().AsyncUnaryCall(Wait, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(2)), new Payload());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal(StatusCode.DeadlineExceeded, call.GetStatus().StatusCode);
        await aborted.Task.Within();
    }

    [Fact]
    public async Task Deadline_already_passed_fails_without_sending_a_request()
    {
        var recorder = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1", new GrpcChannelOptions { HttpHandler = recorder, DisposeHttpHandler = true });
        var call = channel.CreateCallInvoker().AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(-1)), new Payload());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Empty(recorder.Requests);
    }

    [Fact]
    public async Task Client_sends_its_deadline_as_grpc_timeout()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        var recorder = new RecordingHandler();
        using var channel = server.CreateChannel(new GrpcChannelOptions { HttpHandler = recorder, DisposeHttpHandler = true });
        var invoker = channel.CreateCallInvoker();

        await invoker.AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), new Payload()).ResponseAsync.Within();
        await invoker.AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(), new Payload()).ResponseAsync.Within();

        var requests = recorder.Requests.ToArray();
        Assert.True(GrpcTimeout.TryParse(requests[0].Headers.GetValues("grpc-timeout").Single(), out var timeout));
        Assert.InRange(timeout, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(30));
        Assert.False(requests[1].Headers.Contains("grpc-timeout"));
        Assert.Equal("trailers", requests[0].Headers.TE.Single().Value);
        Assert.Equal(new Version(2, 0), requests[0].Version);
    }

    [Fact]
    public async Task Deadline_interrupts_a_response_stream_and_a_request_stream()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel();
        var invoker = channel.CreateCallInvoker();

        using var streaming = invoker.AsyncServerStreamingCall(
            TestMethods.ServerStream, null, new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(400)), new Payload { Count = 1000, DelayMs = 50 });
        var read = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await streaming.ResponseStream.MoveNext(default).Within())
            {
                read++;
            }
        });
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.InRange(read, 0, 999);

        using var duplex = invoker.AsyncDuplexStreamingCall(TestMethods.Duplex, null, new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(300)));
        var writeError = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            // The first request keeps the server busy past the deadline; writes go on until it hits.
            await duplex.RequestStream.WriteAsync(new Payload { DelayMs = 20_000 }).Within();
            for (var i = 0; i < 10_000; i++)
            {
                await duplex.RequestStream.WriteAsync(new Payload()).Within();
                await Task.Delay(10);
            }
        });
        Assert.Equal(StatusCode.DeadlineExceeded, writeError.StatusCode);
    }

    [Fact]
    public async Task Deadline_beyond_any_timer_still_works()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel();
        var response = await channel.CreateCallInvoker()
            .AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddYears(200)), new Payload { Id = 1 }).ResponseAsync.Within();
        Assert.Equal(2, response.Id);
        Assert.True(GrpcTimeout.TryParse(GrpcTimeout.Format(TimeSpan.FromDays(365 * 200)), out var sent));
        Assert.True(sent >= TimeSpan.FromDays(365 * 200));
    }
}
