namespace Ohem.Grpc.Client;

/// <summary>The response stream of a server-streaming or duplex call; at its end the status is checked.</summary>
internal sealed class ResponseStreamReader<TRequest, TResponse>(GrpcCall<TRequest, TResponse> call) : IAsyncStreamReader<TResponse>
    where TRequest : class
    where TResponse : class
{
    private TResponse? _current;

    public TResponse Current => _current ?? throw new InvalidOperationException("No current message: call MoveNext first.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        _current = await call.ReadNextAsync(cancellationToken).ConfigureAwait(false);
        if (_current is not null)
        {
            return true;
        }

        call.FinishResponse(null);
        return false;
    }
}
