using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>The client's call objects: what they allow when, and how a server that ends early shows up.</summary>
public sealed class ClientBehaviourTests : IAsyncLifetime
{
    private static readonly Method<Payload, Payload> HeadersFirst = TestMethods.Custom(MethodType.ServerStreaming, "HeadersFirst");
    private static readonly Method<Payload, Payload> ReadOneAndEnd = TestMethods.Custom(MethodType.DuplexStreaming, "ReadOneAndEnd");
    private static readonly Method<Payload, Payload> StatusWithoutThrowing = TestMethods.Custom(MethodType.Unary, "StatusWithoutThrowing");
    private static readonly Method<Payload, Payload> Nothing = TestMethods.Custom(MethodType.ServerStreaming, "Nothing");

    private readonly TaskCompletionSource _proceed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestServer _server = null!;
    private GrpcChannel _channel = null!;

    private CallInvoker Invoker => _channel.CreateCallInvoker();

    private static CallOptions Options => new(deadline: Bounded.Deadline);

    public async Task InitializeAsync()
    {
        var custom = ServerServiceDefinition.CreateBuilder()
            .AddMethod(HeadersFirst, async (Payload request, IServerStreamWriter<Payload> responses, ServerCallContext context) =>
            {
                await context.WriteResponseHeadersAsync(new Metadata { { "early", "yes" } });
                await Assert.ThrowsAsync<InvalidOperationException>(() => context.WriteResponseHeadersAsync(new Metadata()));
                await _proceed.Task.WaitAsync(context.CancellationToken);
                await responses.WriteAsync(new Payload { Id = 1 });
            })
            .AddMethod(ReadOneAndEnd, async (IAsyncStreamReader<Payload> requests, IServerStreamWriter<Payload> responses, ServerCallContext context) =>
            {
                await requests.MoveNext(context.CancellationToken);
                await responses.WriteAsync(requests.Current);
            })
            .AddMethod(StatusWithoutThrowing, (Payload request, ServerCallContext context) =>
            {
                context.Status = new Status(StatusCode.AlreadyExists, "set, not thrown");
                context.ResponseTrailers.Add("why", "because");
                return Task.FromResult(new Payload());
            })
            .AddMethod(Nothing, (Payload request, IServerStreamWriter<Payload> responses, ServerCallContext context) => Task.CompletedTask)
            .Build();
        _server = await TestServer.StartAsync(endpoints =>
        {
            endpoints.MapGrpcService(TestServiceImpl.Definition());
            endpoints.MapGrpcService(custom);
        });
        _channel = _server.CreateChannel();
    }

    public async Task DisposeAsync()
    {
        _proceed.TrySetResult();
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Response_headers_arrive_before_any_message()
    {
        using var call = Invoker.AsyncServerStreamingCall(HeadersFirst, null, Options, new Payload());
        var headers = await call.ResponseHeadersAsync.Within();
        Assert.Equal("yes", headers.GetValue("early"));
        Assert.Throws<InvalidOperationException>(() => call.GetStatus());
        Assert.Throws<InvalidOperationException>(() => call.GetTrailers());

        _proceed.SetResult();
        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        Assert.False(await call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Writing_after_completing_the_request_stream_is_an_error()
    {
        using var call = Invoker.AsyncClientStreamingCall(TestMethods.ClientStream, null, Options);
        await call.RequestStream.WriteAsync(new Payload { Id = 1 }).Within();
        await call.RequestStream.CompleteAsync().Within();
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.RequestStream.WriteAsync(new Payload()));
        Assert.Equal(1, (await call.ResponseAsync.Within()).Id);
    }

    [Fact]
    public async Task A_server_error_in_the_middle_of_a_request_stream_reaches_the_response_and_later_writes()
    {
        using var call = Invoker.AsyncClientStreamingCall(TestMethods.ClientStream, null, Options);
        await call.RequestStream.WriteAsync(new Payload { StatusCode = (int)StatusCode.InvalidArgument, StatusMessage = "bad first message" }).Within();
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("bad first message", error.Status.Detail);

        var writeError = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new Payload()).Within());
        Assert.Equal(StatusCode.InvalidArgument, writeError.StatusCode);
    }

    [Fact]
    public async Task A_server_that_ends_a_duplex_call_early_ends_it_for_the_client_too()
    {
        using var call = Invoker.AsyncDuplexStreamingCall(ReadOneAndEnd, null, Options);
        await call.RequestStream.WriteAsync(new Payload { Id = 3 }).Within();
        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(3, call.ResponseStream.Current.Id);
        Assert.False(await call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.RequestStream.WriteAsync(new Payload()).Within());
    }

    [Fact]
    public async Task A_status_set_on_the_context_is_sent_with_its_trailers()
    {
        using var call = Invoker.AsyncUnaryCall(StatusWithoutThrowing, null, Options, new Payload());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Equal("set, not thrown", error.Status.Detail);
        Assert.Equal("because", error.Trailers.GetValue("why"));
        Assert.Equal("because", call.GetTrailers().GetValue("why"));
    }

    [Fact]
    public async Task A_stream_with_no_messages_ends_ok()
    {
        using var call = Invoker.AsyncServerStreamingCall(Nothing, null, Options, new Payload());
        Assert.False(await call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.False(await call.ResponseStream.MoveNext(default).Within());
    }

    [Fact]
    public async Task Unary_without_a_response_message_is_internal()
    {
        // Calling a streaming method that sends nothing, as if it were unary.
        var asUnary = new Method<Payload, Payload>(MethodType.Unary, Nothing.ServiceName, Nothing.Name, TestMethods.PayloadMarshaller, TestMethods.PayloadMarshaller);
        var error = await Assert.ThrowsAsync<RpcException>(() => Invoker.AsyncUnaryCall(asUnary, null, Options, new Payload()).ResponseAsync.Within());
        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public void Reserved_metadata_keys_are_refused()
    {
        Assert.Throws<InvalidOperationException>(
            () => Invoker.AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(new Metadata { { "grpc-timeout", "1S" } }), new Payload()));
    }

    [Fact]
    public void Blocking_unary_call_works()
    {
        var response = Invoker.BlockingUnaryCall(TestMethods.Unary, null, Options, new Payload { Id = 9 });
        Assert.Equal(10, response.Id);
    }
}
