using Ohem.Client;
using Grpc.Core;
using Ohem.Onnx.Export;
using Ohem.Protocol.V1;
using Ohem.Trainer.Data;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Mining;

/// <summary>
/// A trainer's job on the miner service (Ohem.Client underneath): registers the head as a scoring
/// model, publishes its weights as numbered versions, and mines batches through one pipelined
/// Mine stream. One rank publishes (<see cref="Publisher"/>); the others only mine, naming the
/// versions they need with min_weights_version (the miner waits until it holds them).
/// A miner that restarted has forgotten the job: on NOT_FOUND the job is registered again (and,
/// by the publisher, the newest weights published again) and the batch sent once more.
/// Failures to reach the miner surface as the client's exceptions; <see cref="FailoverMiner"/>
/// turns them into in-process mining.
/// </summary>
public sealed class RemoteMiner : IAsyncDisposable
{
    private readonly MinerClient _client;
    private readonly MiningSession _session;
    private readonly byte[] _model;
    private readonly IReadOnlyList<WeightSpec> _layout;
    private readonly SelectionPolicy _policy;
    private readonly SemaphoreSlim _writes = new(1, 1); // registration and publishing, one at a time
    private readonly Lock _latestGate = new();
    private bool _registered;
    private bool _everRegistered;
    private (ulong Version, IReadOnlyDictionary<string, float[]> Weights)? _latest;
    private long _installedVersion;

    private RemoteMiner(MinerClient client, string jobId, RoiHeadSpec spec, byte[] model, SelectionPolicy policy, bool publisher, IReadOnlyDictionary<string, float[]> initialHeadWeights)
    {
        _client = client;
        _session = client.OpenMiningSession();
        JobId = jobId;
        Spec = spec;
        _model = model;
        _layout = RoiHeadExporter.Weights(spec);
        _policy = policy;
        Publisher = publisher;
        if (publisher)
        {
            _latest = (1, initialHeadWeights); // version 1: the weights the model was exported with
        }
    }

    /// <summary>The job's id on the miners.</summary>
    public string JobId { get; }

    /// <summary>The head's shape (the scoring model's and the published weights').</summary>
    public RoiHeadSpec Spec { get; }

    /// <summary>Whether this rank registers with replace and publishes weights.</summary>
    public bool Publisher { get; }

    /// <summary>The miner replica the Mine stream goes to now.</summary>
    public string Endpoint => _session.Endpoint;

    /// <summary>The newest version this rank asked to publish (0 for a rank that does not publish).</summary>
    public ulong LatestVersion
    {
        get
        {
            lock (_latestGate)
            {
                return _latest?.Version ?? 0;
            }
        }
    }

    /// <summary>The newest version a miner confirmed installing (0 before the first).</summary>
    public ulong InstalledVersion => (ulong)Interlocked.Read(ref _installedVersion);

    /// <summary>
    /// Registers the job's scoring model (the head exported with <paramref name="initialHeadWeights"/>)
    /// on every miner and, for the <paramref name="publisher"/>, publishes those weights as version 1.
    /// The publisher registers with replace (a previous run's job of the same id, and its versions,
    /// are dropped); the other ranks register only where the job is missing.
    /// </summary>
    /// <param name="policy">A selection policy name (ohem, topk, fgbg, selective-backprop, importance).</param>
    /// <param name="policyOptions">Its options, including "budget" = B / N (see <see cref="MiningPolicy.Options"/>).</param>
    public static async Task<RemoteMiner> ConnectAsync(
        MinerClientOptions options, string jobId, RoiHeadSpec spec, IReadOnlyDictionary<string, float[]> initialHeadWeights,
        string policy, IReadOnlyDictionary<string, string> policyOptions, bool publisher, CancellationToken cancellationToken = default)
    {
        var miner = Create(options, jobId, spec, initialHeadWeights, policy, policyOptions, publisher);
        try
        {
            await miner.EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
            return miner;
        }
        catch
        {
            await miner.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// As <see cref="ConnectAsync"/> without touching the network: the job is registered (and version 1
    /// published) on first use. For a trainer that must start while the miners are down.
    /// </summary>
    public static RemoteMiner Create(
        MinerClientOptions options, string jobId, RoiHeadSpec spec, IReadOnlyDictionary<string, float[]> initialHeadWeights,
        string policy, IReadOnlyDictionary<string, string> policyOptions, bool publisher)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrEmpty(policy);
        ArgumentNullException.ThrowIfNull(policyOptions);
        var model = RoiHeadExporter.Export(spec, initialHeadWeights); // checks every weight's name, length and values
        if (!policyOptions.Keys.Any(k => k.Equals("budget", StringComparison.OrdinalIgnoreCase)))
        {
            throw new ArgumentException(
                "policyOptions has no \"budget\"; expected the per-image budget B / N (MiningPolicy.Options fills it in).", nameof(policyOptions));
        }

        var wire = new SelectionPolicy { Name = policy };
        foreach (var (key, value) in policyOptions)
        {
            wire.Options[key] = value;
        }

        return new RemoteMiner(new MinerClient(options), jobId, spec, model, wire, publisher, initialHeadWeights);
    }

    /// <summary>
    /// Publishes <paramref name="headWeights"/> (RoiHeadExporter's names; shapes from its layout) as
    /// <paramref name="version"/> to every miner. Succeeds when at least one installed it; the
    /// replicas that did not are in the result. The arrays are kept (not copied) to publish again
    /// after a miner restarts: pass fresh ones (Detector.HeadWeights returns copies).
    /// </summary>
    /// <exception cref="InvalidOperationException">This rank is not the publisher.</exception>
    /// <exception cref="ArgumentException">A tensor is missing, unexpected or of the wrong length, or the version does not grow.</exception>
    public async Task<PublishResult> PublishAsync(ulong version, IReadOnlyDictionary<string, float[]> headWeights, CancellationToken cancellationToken = default)
    {
        Defer(version, headWeights);
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await PublishLatestAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"version {version} was superseded before it could be published.");
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>
    /// Remembers <paramref name="headWeights"/> as the newest version without sending it: the next
    /// call that reaches a miner (<see cref="MineAsync"/>, <see cref="PublishAsync"/>) publishes it
    /// first. What a trainer does while the miners are down.
    /// </summary>
    public void Defer(ulong version, IReadOnlyDictionary<string, float[]> headWeights)
    {
        if (!Publisher)
        {
            throw new InvalidOperationException($"this rank does not publish job '{JobId}' (publisher: false); one rank publishes, the others mine.");
        }

        CheckWeights(headWeights);
        lock (_latestGate)
        {
            if (_latest is { } latest && version <= latest.Version)
            {
                throw new ArgumentException($"version is {version}; expected above {latest.Version}, the newest so far (versions only grow).", nameof(version));
            }

            _latest = (version, headWeights);
        }
    }

    /// <summary>
    /// Mines one batch: every RoI scored with the newest weights version the miner holds that is at
    /// least <paramref name="minWeightsVersion"/> (it waits for one), the policy's selection per image.
    /// </summary>
    /// <param name="features">The backbone's feature maps [N, C, H, W] (FeatureMaps.ToArray()).</param>
    /// <param name="batchId">Unique among this miner's unanswered batches (the step, say).</param>
    /// <returns>Global indices into the batch's RoIs, weights when the policy gives them, the loss
    /// over all labelled RoIs, the selected RoIs' losses and the version that scored them.</returns>
    /// <exception cref="MinerBatchException">The miner answered the batch with an error.</exception>
    /// <exception cref="InvalidDataException">The answer does not fit the batch.</exception>
    public async Task<MinedBatch> MineAsync(
        TrainingBatch batch, float[] features, int channels, int height, int width, ulong batchId, ulong minWeightsVersion, CancellationToken cancellationToken = default)
    {
        var request = MineMessages.Request(JobId, _policy, batch, features, channels, height, width, batchId, minWeightsVersion);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        var response = await _session.MineAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Error is { Code: (int)StatusCode.NotFound })
        {
            // The miner restarted and forgot the job: register it again and send the batch once more
            // (same id: the first was answered).
            await ForgetRegistrationAsync(cancellationToken).ConfigureAwait(false);
            await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
            response = await _session.MineAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return MineMessages.ToMinedBatch(batch, request, response);
    }

    /// <summary>Registers the job where needed and publishes the newest deferred version; cheap when both are done.</summary>
    public async Task EnsureReadyAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _registered) && (!Publisher || InstalledVersion >= LatestVersion))
        {
            return;
        }

        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RegisterIfNeededAsync(cancellationToken).ConfigureAwait(false);
            if (Publisher && InstalledVersion < LatestVersion)
            {
                await PublishLatestAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writes.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _session.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
        _writes.Dispose();
    }

    private async Task ForgetRegistrationAsync(CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Volatile.Write(ref _registered, false);
            Interlocked.Exchange(ref _installedVersion, 0);
        }
        finally
        {
            _writes.Release();
        }
    }

    // Under _writes.
    private async Task RegisterIfNeededAsync(CancellationToken cancellationToken)
    {
        if (_registered)
        {
            return;
        }

        // The publisher's first registration replaces (a previous run's job would hold versions above
        // ours); later ones (a miner restarted) must not drop the versions the others hold.
        // Without replace, a replica that holds the job (another rank registered it, or it did not
        // restart) counts as registered: the same model. The client throws when no replica took it.
        var replace = Publisher && !_everRegistered;
        var result = await _client.RegisterModelAsync(JobId, _model, Spec.NumClasses, replace, cancellationToken).ConfigureAwait(false);

        // A wrong model or token is ours to fix: throw it. Replicas that are down get the job when
        // they answer NOT_FOUND later, or when they join again; one that took it is enough to go on.
        if (result.Failed.FirstOrDefault(f => !MinerFailures.IsUnavailable(f.Error)).Error is { } wrong)
        {
            throw wrong;
        }

        _everRegistered = true;
        Volatile.Write(ref _registered, true);
    }

    // Under _writes. Publishes the newest version; null when there is none.
    private async Task<PublishResult?> PublishLatestAsync(CancellationToken cancellationToken)
    {
        await RegisterIfNeededAsync(cancellationToken).ConfigureAwait(false);
        (ulong Version, IReadOnlyDictionary<string, float[]> Weights) latest;
        lock (_latestGate)
        {
            if (_latest is not { } l)
            {
                return null;
            }

            latest = l;
        }

        PublishResult? result;
        try
        {
            result = await PublishOnceAsync(latest.Version, latest.Weights, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (JobMissing(e))
        {
            result = null;
        }

        if (result is null || result.Failed.Any(f => JobMissing(f.Error)))
        {
            // A replica restarted since the job was registered: register there and publish again.
            _registered = false;
            await RegisterIfNeededAsync(cancellationToken).ConfigureAwait(false);
            result = await PublishOnceAsync(latest.Version, latest.Weights, cancellationToken).ConfigureAwait(false);
        }

        InterlockedMax(ref _installedVersion, latest.Version);
        return result;
    }

    private async Task<PublishResult> PublishOnceAsync(ulong version, IReadOnlyDictionary<string, float[]> weights, CancellationToken cancellationToken)
    {
        var tensors = _layout.ToDictionary(w => w.Name, w => (weights[w.Name], w.Shape.Select(d => (long)d).ToArray()), StringComparer.Ordinal);
        try
        {
            return await _client.PublishWeightsAsync(JobId, version, tensors, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (AlreadyHeld(e))
        {
            // Every replica holds this version or a newer one (published before a retry): nothing to do.
            return new PublishResult(new PublishWeightsResponse { JobId = JobId, Version = version }, []);
        }
    }

    // NOT_FOUND on publish: a replica that restarted and forgot the job.
    private static bool JobMissing(Exception e) => e switch
    {
        RpcException rpc => rpc.StatusCode == StatusCode.NotFound,
        AggregateException a => a.InnerExceptions.Any(JobMissing),
        _ => false,
    };

    // FAILED_PRECONDITION on publish: a version not above the newest held.
    private static bool AlreadyHeld(Exception e) => e switch
    {
        RpcException rpc => rpc.StatusCode == StatusCode.FailedPrecondition,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(AlreadyHeld),
        _ => false,
    };

    private void CheckWeights(IReadOnlyDictionary<string, float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        foreach (var spec in _layout)
        {
            if (!weights.TryGetValue(spec.Name, out var values) || values is null || values.Length != spec.ElementCount)
            {
                throw new ArgumentException(
                    $"headWeights['{spec.Name}'] has {(values is null ? "no values" : $"{values.Length} values")}; expected float32 {spec.ShapeText} ({spec.ElementCount} values).",
                    nameof(weights));
            }
        }

        if (weights.Count != _layout.Count)
        {
            var extra = weights.Keys.Except(_layout.Select(w => w.Name), StringComparer.Ordinal);
            throw new ArgumentException($"headWeights has unexpected {string.Join(", ", extra.Select(n => $"'{n}'"))}; the head's weights are {string.Join(", ", _layout)}.", nameof(weights));
        }
    }

    private static void InterlockedMax(ref long target, ulong value)
    {
        long current;
        while ((ulong)(current = Interlocked.Read(ref target)) < value
            && Interlocked.CompareExchange(ref target, (long)value, current) != current)
        {
        }
    }
}
