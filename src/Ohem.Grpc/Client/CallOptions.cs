namespace Ohem.Grpc;

/// <summary>Per-call settings: request metadata, a deadline (UTC) and a cancellation token.</summary>
public readonly record struct CallOptions
{
    public CallOptions(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>Custom metadata sent as request headers ("-bin" keys base64-encoded).</summary>
    public Metadata? Headers { get; }

    /// <summary>When the call must be over (UTC; a local time is converted); null or <see cref="DateTime.MaxValue"/> for none.</summary>
    public DateTime? Deadline { get; }

    /// <summary>Cancels the call (CANCELLED, and the HTTP/2 stream is reset).</summary>
    public CancellationToken CancellationToken { get; }

    public CallOptions WithHeaders(Metadata headers) => new(headers, Deadline, CancellationToken);

    public CallOptions WithDeadline(DateTime deadline) => new(Headers, deadline, CancellationToken);

    public CallOptions WithCancellationToken(CancellationToken cancellationToken) => new(Headers, Deadline, cancellationToken);
}
