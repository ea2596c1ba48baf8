using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Ohem.Protocol.V1;
using Polly;

namespace Ohem.Client;

/// <summary>
/// A trainer's handle on its miner pool: registrations and weights go to every replica; status
/// comes from the first that answers; mining goes through a <see cref="MiningSession"/> that
/// fails over. Every call runs through one resilience pipeline (<see cref="MinerResilience"/>).
/// </summary>
public sealed class MinerClient : IDisposable
{
    private readonly GrpcChannel[] _channels;

    public MinerClient(MinerClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("Endpoints is empty; expected at least one miner address.", nameof(options));
        }

        Options = options;
        _channels = [.. options.Endpoints.Select(e => GrpcChannel.ForAddress(e, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = options.MaxMessageBytes,
            MaxSendMessageSize = options.MaxMessageBytes,
            HttpHandler = CreateHandler(options),
            // A replica that restarts is reconnected to on the pipeline's own back-off, not gRPC's default (1 s, up to 120 s).
            InitialReconnectBackoff = options.RetryBaseDelay,
            MaxReconnectBackoff = options.RetryMaxDelay,
        }))];
        Replicas = [.. _channels.Select(c => new HardExampleMiner.HardExampleMinerClient(c))];
        Pipeline = MinerResilience.Build(options);
        StreamPipeline = MinerResilience.BuildForStreams(options);
    }

    public MinerClientOptions Options { get; }

    /// <summary>The generated client of each replica, in <see cref="MinerClientOptions.Endpoints"/> order.</summary>
    internal HardExampleMiner.HardExampleMinerClient[] Replicas { get; }

    internal ResiliencePipeline Pipeline { get; }

    internal ResiliencePipeline StreamPipeline { get; }

    /// <summary>Registers the job's scoring model on every replica.</summary>
    public async Task<RegisterModelResponse> RegisterModelAsync(string jobId, byte[] onnx, int numClasses = 0, bool replace = false, CancellationToken cancellationToken = default)
    {
        var request = new RegisterModelRequest { JobId = jobId, OnnxModel = ByteString.CopyFrom(onnx), NumClasses = (uint)numClasses, Replace = replace };
        var responses = await Task.WhenAll(Replicas.Select(replica => Call(replica, (r, o) => r.RegisterModelAsync(request, o).ResponseAsync, write: true, cancellationToken)))
            .ConfigureAwait(false);
        return responses[0];
    }

    /// <summary>
    /// Publishes one weights version to every replica, each tensor in chunks. Succeeds when at
    /// least one replica installed it; the replicas that did not are in the result.
    /// </summary>
    public async Task<PublishResult> PublishWeightsAsync(string jobId, ulong version, IReadOnlyDictionary<string, (float[] Values, long[] Shape)> weights, CancellationToken cancellationToken = default)
    {
        var attempts = Replicas.Select(async (replica, index) =>
        {
            try
            {
                return (index, (PublishWeightsResponse?)await Call(replica, (r, o) => Publish(r, o, jobId, version, weights), write: true, cancellationToken).ConfigureAwait(false), (Exception?)null);
            }
            catch (Exception e) when (e is RpcException || MinerResilience.IsTransient(e) || e is Polly.CircuitBreaker.BrokenCircuitException)
            {
                return (index, null, e);
            }
        });
        var results = await Task.WhenAll(attempts).ConfigureAwait(false);
        var failed = results.Where(r => r.Item3 is not null).Select(r => (Options.Endpoints[r.index], r.Item3!)).ToList();
        var installed = results.FirstOrDefault(r => r.Item2 is not null).Item2;
        if (installed is null)
        {
            throw failed.Count == 1 ? failed[0].Item2 : new AggregateException($"no miner installed weights version {version}", failed.Select(f => f.Item2));
        }

        return new PublishResult(installed, failed);
    }

    /// <summary>Status from the first replica that answers.</summary>
    public async Task<GetStatusResponse> GetStatusAsync(string jobId = "", CancellationToken cancellationToken = default)
    {
        Exception? last = null;
        foreach (var replica in Replicas)
        {
            try
            {
                return await Call(replica, (r, o) => r.GetStatusAsync(new GetStatusRequest { JobId = jobId }, o).ResponseAsync, write: false, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (MinerResilience.IsTransient(e) || e is Polly.CircuitBreaker.BrokenCircuitException)
            {
                last = e;
            }
        }

        throw last!;
    }

    /// <summary>Forgets the job on every replica.</summary>
    public Task DeleteJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        Task.WhenAll(Replicas.Select(replica => Call(replica, (r, o) => r.DeleteJobAsync(new DeleteJobRequest { JobId = jobId }, o).ResponseAsync, write: true, cancellationToken)));

    /// <summary>A pipelined Mine stream that resends unanswered batches when a stream breaks.</summary>
    public MiningSession OpenMiningSession() => new(this);

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    internal CallOptions CallOptionsFor(bool write, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var headers = new Metadata();
        if (write && Options.WriteToken is { Length: > 0 } token)
        {
            headers.Add("authorization", "Bearer " + token);
        }

        return new CallOptions(headers, timeout is { } t && t == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + (timeout ?? Options.CallTimeout), cancellationToken);
    }

    /// <summary>
    /// HTTP/2 for megabyte messages: several connections per replica rather than queued calls
    /// (Kestrel allows 100 streams per connection) and wide flow-control windows, so a batch is
    /// not held back a window at a time.
    /// </summary>
    private static SocketsHttpHandler CreateHandler(MinerClientOptions options) => new()
    {
        EnableMultipleHttp2Connections = true,
        InitialHttp2StreamWindowSize = 16 << 20,
        KeepAlivePingDelay = TimeSpan.FromSeconds(60),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        SslOptions = options.Tls,
    };

    private Task<T> Call<T>(HardExampleMiner.HardExampleMinerClient replica, Func<HardExampleMiner.HardExampleMinerClient, CallOptions, Task<T>> call, bool write, CancellationToken cancellationToken) =>
        Pipeline.ExecuteAsync(async ct => await call(replica, CallOptionsFor(write, ct)).ConfigureAwait(false), cancellationToken).AsTask();

    private async Task<PublishWeightsResponse> Publish(HardExampleMiner.HardExampleMinerClient replica, CallOptions options, string jobId, ulong version, IReadOnlyDictionary<string, (float[] Values, long[] Shape)> weights)
    {
        using var call = replica.PublishWeights(options);
        var perChunk = Math.Max(1, Options.PublishChunkBytes / sizeof(float));
        var first = true;
        foreach (var (name, (values, shape)) in weights)
        {
            for (var offset = 0; offset < values.Length || (offset == 0 && values.Length == 0); offset += perChunk)
            {
                var count = Math.Min(perChunk, values.Length - offset);
                var chunk = new TensorChunk
                {
                    Name = name,
                    Shape = { shape },
                    Offset = (ulong)offset,
                    Dtype = DataType.Float32,
                    Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan(offset, count))),
                };
                await call.RequestStream.WriteAsync(new PublishWeightsRequest { JobId = first ? jobId : "", Version = first ? version : 0, Chunk = chunk }).ConfigureAwait(false);
                first = false;
                if (values.Length == 0)
                {
                    break;
                }
            }
        }

        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return await call.ResponseAsync.ConfigureAwait(false);
    }
}

/// <summary>What a publish installed, and the replicas that did not take it.</summary>
public sealed record PublishResult(PublishWeightsResponse Installed, IReadOnlyList<(string Endpoint, Exception Error)> Failed);
