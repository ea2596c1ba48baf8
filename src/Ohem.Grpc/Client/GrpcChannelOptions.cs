using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Ohem.Grpc;

/// <summary>Settings for a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>
    /// The HTTP handler to send through (e.g. a configured SocketsHttpHandler, or a test handler);
    /// null for a SocketsHttpHandler the channel creates and owns. A given handler is not disposed
    /// by the channel unless <see cref="DisposeHttpHandler"/> is set.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    public bool DisposeHttpHandler { get; set; }

    /// <summary>The largest response message accepted, in bytes (grpc's default 4 MB); null for no limit.</summary>
    public int? MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>The largest request message sent, in bytes; null (the default) for no limit.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Compression for every request message: null (none), "gzip" or "deflate".</summary>
    public string? RequestCompression { get; set; }

    /// <summary>TLS client certificates (only with the channel's own handler).</summary>
    public X509CertificateCollection? ClientCertificates { get; set; }

    /// <summary>Server certificate check (only with the channel's own handler); null for the system's.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }
}
