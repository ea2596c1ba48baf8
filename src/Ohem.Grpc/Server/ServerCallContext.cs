using System.Security.Cryptography.X509Certificates;

namespace Ohem.Grpc;

/// <summary>
/// What a server handler knows about its call: who called, with what metadata and deadline, the
/// token that fires when the call is over for the handler (client cancelled or reset, deadline
/// passed), and where to put response headers, trailers and a status.
/// </summary>
public abstract class ServerCallContext
{
    /// <summary>The method's path, "/package.Service/Method".</summary>
    public abstract string Method { get; }

    /// <summary>The :authority the client called.</summary>
    public abstract string Host { get; }

    /// <summary>The client's address in gRPC's naming form, e.g. "ipv4:127.0.0.1:50312".</summary>
    public abstract string Peer { get; }

    /// <summary>The call's deadline (UTC) from grpc-timeout; <see cref="DateTime.MaxValue"/> when none.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>The request's custom metadata ("-bin" values decoded).</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Fires when the client cancels or resets the call, or the deadline passes.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Trailers to send with the status.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>The status to send when the handler returns normally (default OK); a thrown <see cref="RpcException"/> overrides it.</summary>
    public abstract Status Status { get; set; }

    /// <summary>The client's TLS certificate, when it presented one.</summary>
    public abstract X509Certificate2? ClientCertificate { get; }

    /// <summary>State for the duration of the call.</summary>
    public abstract IDictionary<object, object?> UserState { get; }

    /// <summary>Sends the response headers now (at most once, before the first message).</summary>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);
}
