namespace Ohem.Grpc.Server;

/// <summary>The request stream of a client-streaming or duplex call.</summary>
internal sealed class HttpContextStreamReader<TRequest>(HttpContextServerCallContext call, Marshaller<TRequest> marshaller)
    : IAsyncStreamReader<TRequest>
    where TRequest : class
{
    private TRequest? _current;

    public TRequest Current => _current ?? throw new InvalidOperationException("No current message: call MoveNext first.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        _current = await call.ReadMessageAsync(marshaller, cancellationToken).ConfigureAwait(false);
        return _current is not null;
    }
}
