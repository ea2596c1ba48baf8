namespace Ohem.Grpc.Client;

/// <summary>The request stream of a client-streaming or duplex call.</summary>
internal sealed class RequestStreamWriter<TRequest, TResponse>(GrpcCall<TRequest, TResponse> call) : IClientStreamWriter<TRequest>
    where TRequest : class
    where TResponse : class
{
    public Task WriteAsync(TRequest message) => call.WriteAsync(message, default);

    public Task WriteAsync(TRequest message, CancellationToken cancellationToken) => call.WriteAsync(message, cancellationToken);

    public Task CompleteAsync() => call.CompleteRequestAsync();
}
