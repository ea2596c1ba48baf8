using Google.Protobuf;
using Ohem.Grpc.Tests.Protos;

namespace Ohem.Grpc.Tests.Support;

/// <summary>
/// Checks of a TestService server through our client, whatever implements the server: run against
/// our Kestrel server (ConformanceTests) and against grpcio (InteropTests).
/// </summary>
internal static class ServiceChecks
{
    private static CallOptions Options(Metadata? headers = null) => new(headers, Bounded.Deadline);

    public static async Task UnaryAsync(CallInvoker invoker)
    {
        var request = new Payload { Id = 41, Text = "héllo", Data = ByteString.CopyFrom(0, 1, 255), Values = { 1.5f, -2f } };
        var response = await invoker.AsyncUnaryCall(TestMethods.Unary, null, Options(), request).ResponseAsync.Within();
        Assert.Equal(42, response.Id);
        Assert.Equal("echo:héllo", response.Text);
        Assert.Equal(request.Data, response.Data);
        Assert.Equal([1.5f, -2f], response.Values);
    }

    public static async Task ClientStreamAsync(CallInvoker invoker)
    {
        using var call = invoker.AsyncClientStreamingCall(TestMethods.ClientStream, null, Options());
        string[] texts = ["a", "b", "c", "d"];
        for (var i = 0; i < texts.Length; i++)
        {
            await call.RequestStream.WriteAsync(new Payload { Id = i + 1, Text = texts[i], Data = ByteString.CopyFrom((byte)i) }).Within();
        }

        await call.RequestStream.CompleteAsync().Within();
        var response = await call.ResponseAsync.Within();
        Assert.Equal(10, response.Id);
        Assert.Equal(4, response.Count);
        Assert.Equal("a,b,c,d", response.Text);
        Assert.Equal(new byte[] { 0, 1, 2, 3 }, response.Data.ToByteArray());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    public static async Task ServerStreamAsync(CallInvoker invoker)
    {
        using var call = invoker.AsyncServerStreamingCall(TestMethods.ServerStream, null, Options(), new Payload { Id = 100, Count = 5, Text = "s" });
        var ids = new List<int>();
        while (await call.ResponseStream.MoveNext(default).Within())
        {
            Assert.Equal("s", call.ResponseStream.Current.Text);
            ids.Add(call.ResponseStream.Current.Id);
        }

        Assert.Equal([100, 101, 102, 103, 104], ids);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    /// <summary>Five requests in flight before the first response is read: the streams really are independent.</summary>
    public static async Task DuplexAsync(CallInvoker invoker)
    {
        using var call = invoker.AsyncDuplexStreamingCall(TestMethods.Duplex, null, Options());
        for (var i = 0; i < 5; i++)
        {
            await call.RequestStream.WriteAsync(new Payload { Id = 10 * i, Text = "m" + i }).Within();
        }

        for (var i = 0; i < 5; i++)
        {
            Assert.True(await call.ResponseStream.MoveNext(default).Within());
            Assert.Equal(10 * i + 1, call.ResponseStream.Current.Id);
            Assert.Equal("echo:m" + i, call.ResponseStream.Current.Text);
        }

        // Still open both ways: one more round trip, then half-close and read the end.
        await call.RequestStream.WriteAsync(new Payload { Id = 7 }).Within();
        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(8, call.ResponseStream.Current.Id);
        await call.RequestStream.CompleteAsync().Within();
        Assert.False(await call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    /// <summary>A status with a message outside printable ASCII survives the percent-encoding both ways.</summary>
    public static async Task ErrorStatusAsync(CallInvoker invoker)
    {
        const string message = "nicht gefunden – ✓ 100% done\ttab, 🚀";
        var call = invoker.AsyncUnaryCall(TestMethods.Unary, null, Options(), new Payload { StatusCode = (int)StatusCode.NotFound, StatusMessage = message });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
        Assert.Equal(StatusCode.NotFound, call.GetStatus().StatusCode);
    }

    /// <summary>Responses, then an error status in the trailers.</summary>
    public static async Task ErrorAfterMessagesAsync(CallInvoker invoker)
    {
        using var call = invoker.AsyncServerStreamingCall(
            TestMethods.ServerStream, null, Options(), new Payload { Id = 1, Count = 2, StatusCode = (int)StatusCode.FailedPrecondition, StatusMessage = "after two" });
        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        Assert.True(await call.ResponseStream.MoveNext(default).Within());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(default).Within());
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("after two", error.Status.Detail);
    }

    /// <summary>ASCII and binary metadata out as request headers, back as response headers and as trailers.</summary>
    public static async Task MetadataAsync(CallInvoker invoker)
    {
        byte[] binary = [0, 1, 2, 0xFF, 0xFE, 0x80, (byte)',', (byte)'='];
        var headers = new Metadata { { "echo-plain", "some value, with comma" }, { "echo-data-bin", binary }, { "echo-one-bin", new byte[] { 7 } } };
        using var call = invoker.AsyncUnaryCall(TestMethods.Unary, null, Options(headers), new Payload { Id = 1 });
        var response = await call.ResponseAsync.Within();
        Assert.Equal(2, response.Id);

        var responseHeaders = await call.ResponseHeadersAsync.Within();
        Assert.Equal("some value, with comma", responseHeaders.GetValue("echo-plain"));
        Assert.Equal(binary, responseHeaders.GetValueBytes("echo-data-bin"));
        Assert.Equal([7], responseHeaders.GetValueBytes("echo-one-bin"));

        var trailers = call.GetTrailers();
        Assert.Equal("some value, with comma", trailers.GetValue("trail-plain"));
        Assert.Equal(binary, trailers.GetValueBytes("trail-data-bin"));
        Assert.Equal([7], trailers.GetValueBytes("trail-one-bin"));
    }

    /// <summary>A server that takes longer than the deadline: DEADLINE_EXCEEDED.</summary>
    public static async Task DeadlineAsync(CallInvoker invoker)
    {
        var call = invoker.AsyncUnaryCall(
            TestMethods.Unary, null, new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(300)), new Payload { DelayMs = 20_000 });
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    /// <summary>A method the server lacks: UNIMPLEMENTED.</summary>
    public static async Task UnimplementedAsync(CallInvoker invoker)
    {
        var error = await Assert.ThrowsAsync<RpcException>(
            () => invoker.AsyncUnaryCall(TestMethods.Missing, null, Options(), new Payload()).ResponseAsync.Within());
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }
}
