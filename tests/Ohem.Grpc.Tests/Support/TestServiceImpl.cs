using Google.Protobuf;
using Ohem.Grpc.Tests.Protos;

namespace Ohem.Grpc.Tests.Support;

/// <summary>
/// The C# side of ohem.grpctest.TestService, with the same behaviour as Interop/interop_server.py:
/// the answers the proto describes, and request metadata "echo-*" sent back as response headers
/// (same key) and as trailers ("trail-*").
/// </summary>
internal static class TestServiceImpl
{
    public static ServerServiceDefinition Definition() =>
        ServerServiceDefinition.CreateBuilder()
            .AddMethod(TestMethods.Unary, UnaryAsync)
            .AddMethod(TestMethods.ClientStream, ClientStreamAsync)
            .AddMethod(TestMethods.ServerStream, ServerStreamAsync)
            .AddMethod(TestMethods.Duplex, DuplexAsync)
            .Build();

    public static Payload Answer(Payload request) =>
        new() { Id = request.Id + 1, Text = "echo:" + request.Text, Data = request.Data, Values = { request.Values } };

    private static async Task<Payload> UnaryAsync(Payload request, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        await DelayAsync(request, context);
        FailIfAsked(request);
        return Answer(request);
    }

    private static async Task<Payload> ClientStreamAsync(IAsyncStreamReader<Payload> requests, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        var sum = 0;
        var count = 0;
        var texts = new List<string>();
        using var data = new MemoryStream();
        await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
        {
            FailIfAsked(request);
            sum += request.Id;
            count++;
            texts.Add(request.Text);
            request.Data.WriteTo(data);
            await DelayAsync(request, context);
        }

        return new Payload { Id = sum, Count = count, Text = string.Join(",", texts), Data = ByteString.CopyFrom(data.ToArray()) };
    }

    private static async Task ServerStreamAsync(Payload request, IServerStreamWriter<Payload> responses, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        for (var i = 0; i < request.Count; i++)
        {
            await DelayAsync(request, context);
            await responses.WriteAsync(new Payload { Id = request.Id + i, Text = request.Text, Data = request.Data });
        }

        FailIfAsked(request);
    }

    private static async Task DuplexAsync(IAsyncStreamReader<Payload> requests, IServerStreamWriter<Payload> responses, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
        {
            await DelayAsync(request, context);
            FailIfAsked(request);
            await responses.WriteAsync(Answer(request));
        }
    }

    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders.Where(e => e.Key.StartsWith("echo-", StringComparison.Ordinal)))
        {
            headers.Add(entry);
            var trailerKey = "trail-" + entry.Key["echo-".Length..];
            context.ResponseTrailers.Add(entry.IsBinary ? new Metadata.Entry(trailerKey, entry.ValueBytes) : new Metadata.Entry(trailerKey, entry.Value));
        }

        if (headers.Count > 0)
        {
            await context.WriteResponseHeadersAsync(headers);
        }
    }

    private static Task DelayAsync(Payload request, ServerCallContext context) =>
        request.DelayMs > 0 ? Task.Delay(request.DelayMs, context.CancellationToken) : Task.CompletedTask;

    private static void FailIfAsked(Payload request)
    {
        if (request.StatusCode != 0)
        {
            throw new RpcException(new Status((StatusCode)request.StatusCode, request.StatusMessage));
        }
    }
}
