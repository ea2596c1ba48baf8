namespace Ohem.Grpc;

/// <summary>A stream of incoming messages, read one at a time.</summary>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message the last successful <see cref="MoveNext"/> read.</summary>
    T Current { get; }

    /// <summary>Reads the next message: true when there is one, false at the end of the stream.</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken);
}
