namespace Ohem.Grpc;

/// <summary>
/// The one exception type for a non-OK call: thrown by a server handler to end the call with
/// <see cref="Status"/> (and <see cref="Trailers"/>), and thrown to a client when its call ends so.
/// </summary>
public class RpcException : Exception
{
    public RpcException(Status status)
        : this(status, new Metadata(), null)
    {
    }

    public RpcException(Status status, string? message)
        : this(status, new Metadata(), message)
    {
    }

    public RpcException(Status status, Metadata trailers)
        : this(status, trailers, null)
    {
    }

    public RpcException(Status status, Metadata trailers, string? message)
        : base(message ?? status.ToString(), status.DebugException)
    {
        ArgumentNullException.ThrowIfNull(trailers);
        Status = status;
        Trailers = trailers;
    }

    public Status Status { get; }

    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailing metadata: what the server sent with the status, or what a handler wants sent.</summary>
    public Metadata Trailers { get; }
}
