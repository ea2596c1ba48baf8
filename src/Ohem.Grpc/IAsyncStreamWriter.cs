namespace Ohem.Grpc;

/// <summary>A stream of outgoing messages. One write at a time: await each before the next.</summary>
public interface IAsyncStreamWriter<in T>
{
    /// <summary>Writes one message and flushes it to the peer.</summary>
    Task WriteAsync(T message);

    /// <summary>Writes one message and flushes it to the peer; cancelling cancels the whole call.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken);
}

/// <summary>The server's response stream.</summary>
public interface IServerStreamWriter<in T> : IAsyncStreamWriter<T>
{
}

/// <summary>The client's request stream; <see cref="CompleteAsync"/> half-closes it.</summary>
public interface IClientStreamWriter<in T> : IAsyncStreamWriter<T>
{
    /// <summary>Ends the request stream (sends END_STREAM); the response can still be read.</summary>
    Task CompleteAsync();
}
