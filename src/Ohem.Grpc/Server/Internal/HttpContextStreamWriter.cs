namespace Ohem.Grpc.Server;

/// <summary>The response stream of a server-streaming or duplex call; each message is flushed.</summary>
internal sealed class HttpContextStreamWriter<TResponse>(HttpContextServerCallContext call, Marshaller<TResponse> marshaller)
    : IServerStreamWriter<TResponse>
    where TResponse : class
{
    public Task WriteAsync(TResponse message) => call.WriteMessageAsync(message, marshaller, default);

    public Task WriteAsync(TResponse message, CancellationToken cancellationToken) =>
        call.WriteMessageAsync(message, marshaller, cancellationToken);
}
