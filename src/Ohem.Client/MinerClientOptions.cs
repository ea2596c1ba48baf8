namespace Ohem.Client;

/// <summary>How a trainer reaches its miner pool.</summary>
public sealed class MinerClientOptions
{
    /// <summary>
    /// Miner replicas: one each (http://miner-0:50051, https://...), or every replica behind a name
    /// (dns:///ohem-miner-headless.ns.svc.cluster.local:50051, a Kubernetes headless Service; reached
    /// over plain HTTP/2, as inside a cluster). Writes go to all; each Mine stream to one, failing over.
    /// </summary>
    public IList<string> Endpoints { get; set; } = ["http://127.0.0.1:50051"];

    /// <summary>How often a name is resolved again, so that replicas that come and go are found.</summary>
    public TimeSpan ResolveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Resolves dns:/// endpoints (null: grpc-dotnet's DnsResolverFactory, every <see cref="ResolveInterval"/>).
    /// A factory of another name adds that scheme. Tests put loopback ports behind a name with one,
    /// which DNS cannot.
    /// </summary>
    public Grpc.Net.Client.Balancer.ResolverFactory? Resolver { get; set; }

    /// <summary>Bearer token for writes (RegisterModel, PublishWeights, DeleteJob), when the miners require one.</summary>
    public string? WriteToken { get; set; }

    /// <summary>Deadline of each unary or publishing call.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries of a failed call or stream (UNAVAILABLE, RESOURCE_EXHAUSTED), with jittered exponential back-off.</summary>
    public int MaxRetries { get; set; } = 5;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Cap on one back-off delay, however many retries came before.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The circuit opens after this share of failures (over at least MinimumThroughput calls in SamplingDuration)...</summary>
    public double CircuitFailureRatio { get; set; } = 0.8;

    public int CircuitMinimumThroughput { get; set; } = 5;

    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>... and stays open this long, failing fast (a trainer then mines locally).</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes of tensor data per PublishWeights message.</summary>
    public int PublishChunkBytes { get; set; } = 1 << 20;

    public int MaxMessageBytes { get; set; } = 64 << 20;

    /// <summary>TLS for https endpoints: client certificates, server certificate validation.</summary>
    public System.Net.Security.SslClientAuthenticationOptions Tls { get; set; } = new();
}
