using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Ohem.Protocol.V1;
using Polly;
using Polly.CircuitBreaker;

namespace Ohem.Client;

/// <summary>
/// A trainer's handle on its miner pool: registrations and weights go to every replica (those
/// behind a name included, <see cref="ReplicaSet"/>), and a replica that appears later is sent
/// the jobs' models and newest weights before it mines; status comes from the first that answers;
/// mining goes through a <see cref="MiningSession"/> that fails over, each session's stream on the
/// next replica in turn. Every call runs through one resilience pipeline (<see cref="MinerResilience"/>).
/// </summary>
public sealed class MinerClient : IDisposable
{
    private readonly SemaphoreSlim _writes = new(1, 1); // writes and joins, one at a time: a joining replica misses none
    private readonly WrittenJobs _written = new();
    private readonly CancellationTokenSource _disposed = new();

    public MinerClient(MinerClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("Endpoints is empty; expected at least one miner address.", nameof(options));
        }

        foreach (var endpoint in options.Endpoints)
        {
            MinerEndpoint.Validate(endpoint, nameof(options.Endpoints), options.Resolver?.Name);
        }

        Options = options;
        Pipeline = MinerResilience.Build(options);
        StreamPipeline = MinerResilience.BuildForStreams(options);
        Replicas = new ReplicaSet(options, address => Connect(address, options), JoinAsync);
    }

    public MinerClientOptions Options { get; }

    internal ReplicaSet Replicas { get; }

    internal ResiliencePipeline Pipeline { get; }

    internal ResiliencePipeline StreamPipeline { get; }

    /// <summary>
    /// Registers the job's scoring model on every replica. Succeeds when at least one took it (or,
    /// without <paramref name="replace"/>, already held the job); the others are in the result.
    /// </summary>
    public async Task<RegisterResult> RegisterModelAsync(string jobId, byte[] onnx, int numClasses = 0, bool replace = false, CancellationToken cancellationToken = default)
    {
        var request = new RegisterModelRequest { JobId = jobId, OnnxModel = ByteString.CopyFrom(onnx), NumClasses = (uint)numClasses, Replace = replace };
        var results = await WriteAsync(
            (replica, ct) => RegisterAsync(replica, request, ct), () => _written.Registered(request), cancellationToken).ConfigureAwait(false);
        var held = results.Where(r => r.Error is null && r.Value).Select(r => r.Replica.Address).ToList();
        var failed = results.Where(r => r.Error is not null).Select(r => (r.Replica.Address, r.Error!)).ToList();
        ThrowIfNoneTook(failed, results.Count, $"no miner registered job '{jobId}'");
        return new RegisterResult(held, failed);
    }

    /// <summary>
    /// Publishes one weights version to every replica, each tensor in chunks. Succeeds when at
    /// least one replica installed it; the replicas that did not are in the result.
    /// </summary>
    public async Task<PublishResult> PublishWeightsAsync(string jobId, ulong version, IReadOnlyDictionary<string, (float[] Values, long[] Shape)> weights, CancellationToken cancellationToken = default)
    {
        var messages = Chunks(jobId, version, weights);
        var results = await WriteAsync(
            (replica, ct) => PublishAsync(replica, messages, ct), () => _written.Published(jobId, version, messages), cancellationToken).ConfigureAwait(false);
        var failed = results.Where(r => r.Error is not null).Select(r => (r.Replica.Address, r.Error!)).ToList();
        ThrowIfNoneTook(failed, results.Count, $"no miner installed weights version {version}");
        return new PublishResult(results.First(r => r.Error is null).Value!, failed);
    }

    /// <summary>Status from the first replica that answers.</summary>
    public async Task<GetStatusResponse> GetStatusAsync(string jobId = "", CancellationToken cancellationToken = default)
    {
        Exception? last = null;
        foreach (var replica in await Replicas.ResolvedAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                return await Call((o, _) => replica.Client.GetStatusAsync(new GetStatusRequest { JobId = jobId }, o).ResponseAsync, write: false, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (IsReplicaFailure(e))
            {
                last = e;
            }
        }

        throw last!;
    }

    /// <summary>Forgets the job on every replica; throws when one of them failed to.</summary>
    public async Task DeleteJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var request = new DeleteJobRequest { JobId = jobId };
        var results = await WriteAsync(
            (replica, ct) => Call((o, _) => replica.Client.DeleteJobAsync(request, o).ResponseAsync, write: true, ct), () => _written.Deleted(jobId), cancellationToken)
            .ConfigureAwait(false);
        var failed = results.Where(r => r.Error is not null).Select(r => r.Error!).ToList();
        if (failed.Count > 0)
        {
            throw failed.Count == 1 ? failed[0] : new AggregateException($"job '{jobId}' not deleted everywhere", failed);
        }
    }

    /// <summary>A pipelined Mine stream that resends unanswered batches when a stream breaks.</summary>
    public MiningSession OpenMiningSession() => new(this);

    public void Dispose()
    {
        _disposed.Cancel();
        Replicas.Dispose();
        _disposed.Dispose();
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

    /// <summary>Failures that are one replica's: reported per replica, not thrown at the first.</summary>
    private static bool IsReplicaFailure(Exception e) =>
        e is RpcException or BrokenCircuitException or ObjectDisposedException || TransientFailures.IsTransient(e);

    private static void ThrowIfNoneTook(List<(string Address, Exception Error)> failed, int replicas, string what)
    {
        if (failed.Count == replicas)
        {
            throw failed.Count == 1 ? failed[0].Error : new AggregateException(what, failed.Select(f => f.Error));
        }
    }

    private static GrpcChannel Connect(string address, MinerClientOptions options) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        MaxReceiveMessageSize = options.MaxMessageBytes,
        MaxSendMessageSize = options.MaxMessageBytes,
        HttpHandler = CreateHandler(options),
        // A replica that restarts is reconnected to on the pipeline's own back-off, not gRPC's default (1 s, up to 120 s).
        InitialReconnectBackoff = options.RetryBaseDelay,
        MaxReconnectBackoff = options.RetryMaxDelay,
    });

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

    /// <summary>One version as PublishWeights messages, built once for every replica (and kept for those that join later).</summary>
    private List<PublishWeightsRequest> Chunks(string jobId, ulong version, IReadOnlyDictionary<string, (float[] Values, long[] Shape)> weights)
    {
        var perChunk = Math.Max(1, Options.PublishChunkBytes / sizeof(float));
        var messages = new List<PublishWeightsRequest>();
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
                messages.Add(new PublishWeightsRequest { JobId = messages.Count == 0 ? jobId : "", Version = messages.Count == 0 ? version : 0, Chunk = chunk });
                if (values.Length == 0)
                {
                    break;
                }
            }
        }

        return messages;
    }

    /// <summary>
    /// One write to every replica, under the write lock. A replica that has not joined is first sent
    /// what was written before (<see cref="WrittenJobs"/>), then this, and has joined once this
    /// succeeded. The write is remembered for replicas that join later, whether or not any took it
    /// now (a name with no replica yet, all of them restarting).
    /// </summary>
    private async Task<List<(MinerReplica Replica, T? Value, Exception? Error)>> WriteAsync<T>(
        Func<MinerReplica, CancellationToken, Task<T>> write, Action remember, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var replicas = await Replicas.ResolvedAsync(cancellationToken).ConfigureAwait(false);
            var results = await Task.WhenAll(replicas.Select(async replica =>
            {
                try
                {
                    var joining = !replica.Joined;
                    if (joining)
                    {
                        await ReplayAsync(replica, cancellationToken).ConfigureAwait(false);
                    }

                    var value = await write(replica, cancellationToken).ConfigureAwait(false);
                    replica.Joined |= joining;
                    return (replica, value, (Exception?)null);
                }
                catch (Exception e) when (IsReplicaFailure(e) && !cancellationToken.IsCancellationRequested)
                {
                    return (replica, default(T), e);
                }
            })).ConfigureAwait(false);
            return [.. results];
        }
        finally
        {
            remember();
            _writes.Release();
        }
    }

    /// <summary>Joins a replica that appeared: sends it what was written so far; throws when it cannot take it.</summary>
    private async Task JoinAsync(MinerReplica replica)
    {
        await _writes.WaitAsync(_disposed.Token).ConfigureAwait(false);
        try
        {
            if (!replica.Joined && !replica.Removed)
            {
                await ReplayAsync(replica, _disposed.Token).ConfigureAwait(false);
                replica.Joined = true;
            }
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Every job's registration and newest weights, to one replica (under the write lock).</summary>
    private async Task ReplayAsync(MinerReplica replica, CancellationToken cancellationToken)
    {
        foreach (var job in _written.All)
        {
            if (job.Registration is { } registration)
            {
                await RegisterAsync(replica, registration, cancellationToken).ConfigureAwait(false);
            }

            if (job.Weights.Count > 0)
            {
                try
                {
                    await PublishAsync(replica, job.Weights, cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                {
                    // It holds this version or a newer one already.
                }
            }
        }
    }

    /// <summary>Registers the job on one replica; true when, without replace, it held the job already (another trainer of the job registered the same model).</summary>
    private async Task<bool> RegisterAsync(MinerReplica replica, RegisterModelRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await Call((o, _) => replica.Client.RegisterModelAsync(request, o).ResponseAsync, write: true, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists && !request.Replace)
        {
            return true;
        }
    }

    private Task<PublishWeightsResponse> PublishAsync(MinerReplica replica, IReadOnlyList<PublishWeightsRequest> messages, CancellationToken cancellationToken) =>
        Call(async (o, ct) =>
        {
            using var call = replica.Client.PublishWeights(o);
            foreach (var message in messages)
            {
                await call.RequestStream.WriteAsync(message, ct).ConfigureAwait(false);
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return await call.ResponseAsync.ConfigureAwait(false);
        }, write: true, cancellationToken);

    private Task<T> Call<T>(Func<CallOptions, CancellationToken, Task<T>> call, bool write, CancellationToken cancellationToken) =>
        Pipeline.ExecuteAsync(async ct => await call(CallOptionsFor(write, ct), ct).ConfigureAwait(false), cancellationToken).AsTask();
}

/// <summary>The replicas that already held the job (registered without replace), and those that did not take it.</summary>
public sealed record RegisterResult(IReadOnlyList<string> AlreadyRegistered, IReadOnlyList<(string Endpoint, Exception Error)> Failed);

/// <summary>What a publish installed, and the replicas that did not take it.</summary>
public sealed record PublishResult(PublishWeightsResponse Installed, IReadOnlyList<(string Endpoint, Exception Error)> Failed);
