using Ohem.Onnx;
using Ohem.Onnx.Scoring;

namespace Ohem.Service;

/// <summary>The miner's settings: section "Miner" of appsettings.json, or OHEM__Miner__Key.</summary>
public sealed class MinerOptions
{
    public const string Section = "Miner";

    /// <summary>Where to listen, e.g. http://127.0.0.1:50051 (cleartext HTTP/2) or https://...</summary>
    public string Listen { get; set; } = "http://127.0.0.1:50051";

    /// <summary>Where Prometheus scrapes /metrics over HTTP/1.1 (cleartext gRPC needs an HTTP/2-only port); null: not served.</summary>
    public string? MetricsListen { get; set; } = "http://127.0.0.1:9464";

    /// <summary>A PFX certificate for an https Listen address (TLS with ALPN h2).</summary>
    public string? TlsCertificate { get; set; }

    public string? TlsCertificatePassword { get; set; }

    /// <summary>With TLS: require clients to present a certificate.</summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>How long shutdown waits for streams to answer the batches they have read.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Batches being mined or queued across all streams; beyond it, clients are slowed down.</summary>
    public int MaxBatchesInFlight { get; set; } = 8;

    /// <summary>Batches in flight on one Mine stream (a client's pipelining depth).</summary>
    public int MaxBatchesPerStream { get; set; } = 4;

    /// <summary>How long a batch may wait for a weights version that is not installed yet.</summary>
    public TimeSpan VersionWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest message accepted (a batch's features are the big part).</summary>
    public int MaxMessageBytes { get; set; } = 64 << 20;

    /// <summary>Serve gRPC server reflection (v1alpha and v1), so grpcurl and similar tools need no .proto files.</summary>
    public bool Reflection { get; set; } = true;

    /// <summary>When set, RegisterModel, PublishWeights and DeleteJob need "authorization: Bearer &lt;token&gt;".</summary>
    public string? WriteToken { get; set; }

    /// <summary>ONNX Runtime sessions: threads, providers, host RoI pooling.</summary>
    public OnnxSessionOptions Onnx { get; set; } = new();

    /// <summary>Weights versions kept per job and the byte cap.</summary>
    public WeightsStoreOptions Weights { get; set; } = new();
}
