namespace Ohem.Grpc;

/// <summary>Server settings for the gRPC endpoints (bindable from configuration).</summary>
public sealed class GrpcServerOptions
{
    /// <summary>The largest request message accepted, in bytes (grpc's default 4 MB); null for no limit.</summary>
    public int? MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>The largest response message sent, in bytes; null (the default) for no limit.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>
    /// Compression for responses: null (none), "gzip" or "deflate". Used only when the client lists
    /// it in grpc-accept-encoding.
    /// </summary>
    public string? ResponseCompression { get; set; }

    /// <summary>Send the exception's type and message to the client when a handler throws something other than <see cref="RpcException"/>.</summary>
    public bool EnableDetailedErrors { get; set; }
}
