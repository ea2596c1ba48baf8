using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>Our client against our server: every call kind, statuses, metadata, deadlines.</summary>
public sealed class ConformanceTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private GrpcChannel _channel = null!;

    private CallInvoker Invoker => _channel.CreateCallInvoker();

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(TestServiceImpl.Definition());
        _channel = _server.CreateChannel();
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public Task Unary_call_answers() => ServiceChecks.UnaryAsync(Invoker);

    [Fact]
    public Task Client_streaming_call_answers_once_for_the_whole_stream() => ServiceChecks.ClientStreamAsync(Invoker);

    [Fact]
    public Task Server_streaming_call_answers_with_a_stream() => ServiceChecks.ServerStreamAsync(Invoker);

    [Fact]
    public Task Duplex_call_has_five_requests_in_flight_before_reading() => ServiceChecks.DuplexAsync(Invoker);

    [Fact]
    public Task Error_status_carries_a_non_ascii_message() => ServiceChecks.ErrorStatusAsync(Invoker);

    [Fact]
    public Task Error_status_after_messages_comes_in_the_trailers() => ServiceChecks.ErrorAfterMessagesAsync(Invoker);

    [Fact]
    public Task Metadata_ascii_and_binary_go_both_ways_in_headers_and_trailers() => ServiceChecks.MetadataAsync(Invoker);

    [Fact]
    public Task Slow_server_gives_deadline_exceeded() => ServiceChecks.DeadlineAsync(Invoker);

    [Fact]
    public Task Unknown_method_gives_unimplemented() => ServiceChecks.UnimplementedAsync(Invoker);

    [Fact]
    public async Task Array_based_marshallers_work_too()
    {
        var response = await Invoker.AsyncUnaryCall(TestMethods.UnaryArrays, null, new CallOptions(deadline: Bounded.Deadline), new Protos.Payload { Id = 5, Text = "x" }).ResponseAsync.Within();
        Assert.Equal(6, response.Id);
        Assert.Equal("echo:x", response.Text);
    }
}
