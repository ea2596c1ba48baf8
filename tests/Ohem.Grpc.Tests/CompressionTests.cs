using Microsoft.AspNetCore.Builder;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>Message compression both ways between our client and our server, checked on the wire.</summary>
public sealed class CompressionTests
{
    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Both_directions_compress_and_the_messages_survive(string encoding)
    {
        var requestEncodings = new System.Collections.Concurrent.ConcurrentBag<string>();
        await using var server = await TestServer.StartAsync(endpoints =>
        {
            ((IApplicationBuilder)endpoints).Use((context, next) =>
            {
                requestEncodings.Add(context.Request.Headers["grpc-encoding"].ToString());
                return next(context);
            });
            endpoints.MapGrpcService(TestServiceImpl.Definition(), new GrpcServerOptions { ResponseCompression = encoding });
        });
        var recorder = new RecordingHandler();
        using var channel = server.CreateChannel(new GrpcChannelOptions { HttpHandler = recorder, DisposeHttpHandler = true, RequestCompression = encoding });
        var invoker = channel.CreateCallInvoker();

        var text = string.Concat(Enumerable.Repeat("compressible ", 100_000));
        var response = await invoker.AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(deadline: Bounded.Deadline), new Payload { Text = text, Values = { new float[1000] } })
            .ResponseAsync.Within();
        Assert.Equal("echo:" + text, response.Text);
        Assert.Equal(1000, response.Values.Count);
        await ServiceChecks.DuplexAsync(invoker);
        await ServiceChecks.ClientStreamAsync(invoker);

        Assert.All(requestEncodings, e => Assert.Equal(encoding, e));
        Assert.All(recorder.Responses, r => Assert.Equal(encoding, r.Headers.GetValues("grpc-encoding").Single()));
    }

    [Fact]
    public async Task Without_compression_nothing_is_announced()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        var recorder = new RecordingHandler();
        using var channel = server.CreateChannel(new GrpcChannelOptions { HttpHandler = recorder, DisposeHttpHandler = true });
        await ServiceChecks.UnaryAsync(channel.CreateCallInvoker());
        Assert.False(recorder.Requests.Single().Headers.Contains("grpc-encoding"));
        Assert.False(recorder.Responses.Single().Headers.Contains("grpc-encoding"));
        Assert.Contains("gzip", recorder.Requests.Single().Headers.GetValues("grpc-accept-encoding").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_compression_names_are_refused_up_front()
    {
        Assert.Throws<ArgumentException>(() => GrpcChannel.ForAddress("http://127.0.0.1:1", new GrpcChannelOptions { RequestCompression = "snappy" }));
    }
}
