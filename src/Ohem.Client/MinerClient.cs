using System.Runtime.InteropServices;
using Google.Protobuf;
using Ohem.Grpc;
using Ohem.Protocol.Methods;
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
        }))];
        Invokers = [.. _channels.Select(c => c.CreateCallInvoker())];
        Pipeline = MinerResilience.Build(options);
        StreamPipeline = MinerResilience.BuildForStreams(options);
    }

    public MinerClientOptions Options { get; }

    internal CallInvoker[] Invokers { get; }

    internal ResiliencePipeline Pipeline { get; }

    internal ResiliencePipeline StreamPipeline { get; }

    /// <summary>Registers the job's scoring model on every replica.</summary>
    public async Task<RegisterModelResponse> RegisterModelAsync(string jobId, byte[] onnx, int numClasses = 0, bool replace = false, CancellationToken cancellationToken = default)
    {
        var request = new RegisterModelRequest { JobId = jobId, OnnxModel = ByteString.CopyFrom(onnx), NumClasses = (uint)numClasses, Replace = replace };
        var responses = await Task.WhenAll(Invokers.Select(invoker => Call(invoker, (i, o) => i.AsyncUnaryCall(MinerMethods.RegisterModel, null, o, request).ResponseAsync, write: true, cancellationToken)))
            .ConfigureAwait(false);
        return responses[0];
    }

    /// <summary>
    /// Publishes one weights version to every replica, each tensor in chunks. Succeeds when at
    /// least one replica installed it; the replicas that did not are in the result.
    /// </summary>
    public async Task<PublishResult> PublishWeightsAsync(string jobId, ulong version, IReadOnlyDictionary<string, (float[] Values, long[] Shape)> weights, CancellationToken cancellationToken = default)
    {
        var attempts = Invokers.Select(async (invoker, index) =>
        {
            try
            {
                return (index, (PublishWeightsResponse?)await Call(invoker, (i, o) => Publish(i, o, jobId, version, weights), write: true, cancellationToken).ConfigureAwait(false), (Exception?)null);
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
        foreach (var invoker in Invokers)
        {
            try
            {
                return await Call(invoker, (i, o) => i.AsyncUnaryCall(MinerMethods.GetStatus, null, o, new GetStatusRequest { JobId = jobId }).ResponseAsync, write: false, cancellationToken)
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
        Task.WhenAll(Invokers.Select(invoker => Call(invoker, (i, o) => i.AsyncUnaryCall(MinerMethods.DeleteJob, null, o, new DeleteJobRequest { JobId = jobId }).ResponseAsync, write: true, cancellationToken)));

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

    private Task<T> Call<T>(CallInvoker invoker, Func<CallInvoker, CallOptions, Task<T>> call, bool write, CancellationToken cancellationToken) =>
        Pipeline.ExecuteAsync(async ct => await call(invoker, CallOptionsFor(write, ct)).ConfigureAwait(false), cancellationToken).AsTask();

    private async Task<PublishWeightsResponse> Publish(CallInvoker invoker, CallOptions options, string jobId, ulong version, IReadOnlyDictionary<string, (float[] Values, long[] Shape)> weights)
    {
        using var call = invoker.AsyncClientStreamingCall(MinerMethods.PublishWeights, null, options);
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
