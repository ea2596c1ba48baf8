using System.Globalization;
using Ohem.Client;
using Ohem.Onnx.Export;
using Ohem.Trainer.Data;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Mining;

/// <summary>
/// Mining through the miner service that never stops training because a miner died: when the
/// miner cannot be reached (the client gave up, its circuit is open, a call timed out, the miner
/// lost the job or lacks the version), the batch is mined in-process by the caller's fallback (the
/// same policy) and the outcome says so. While the miner is down, batches go straight to the
/// fallback and the miner is tried again at most once per <see cref="FailoverOptions.ProbeInterval"/>;
/// weights published meanwhile are kept and sent when it answers again. One log line per
/// transition. A request the miner rejects as wrong (INVALID_ARGUMENT) or an answer that does not
/// fit the batch is a bug and is thrown.
/// </summary>
public sealed class FailoverMiner : IAsyncDisposable
{
    private readonly FailoverOptions _options;
    private readonly Action<string> _log;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private bool _down;
    private string? _downReason;
    private long _downSince;
    private long _nextProbe;
    private long _localSinceDown;
    private long _remoteBatches;
    private long _localBatches;
    private long _outages;
    private long _remoteAttempts;

    /// <param name="remote">The job on the miners (owned: disposed with this).</param>
    /// <param name="log">Where the transitions go ("miner unavailable: ...", "miner back: ...").</param>
    /// <param name="time">The clock probes are scheduled by (tests advance it by hand); timeouts use real time.</param>
    public FailoverMiner(RemoteMiner remote, FailoverOptions? options = null, Action<string>? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        _options = options ?? new FailoverOptions();
        _options.Validate();
        Remote = remote;
        _log = log ?? (_ => { });
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The miner service side.</summary>
    public RemoteMiner Remote { get; }

    /// <summary>False from a failure until the miner answers again.</summary>
    public bool IsRemoteUp
    {
        get
        {
            lock (_gate)
            {
                return !_down;
            }
        }
    }

    /// <summary>Batches the miner chose.</summary>
    public long RemoteBatches => Interlocked.Read(ref _remoteBatches);

    /// <summary>Batches mined in-process because the miner could not.</summary>
    public long LocalBatches => Interlocked.Read(ref _localBatches);

    /// <summary>Times the miner went from up to down.</summary>
    public long Outages => Interlocked.Read(ref _outages);

    /// <summary>Remote calls made (mining and publishing), probes included.</summary>
    public long RemoteAttempts => Interlocked.Read(ref _remoteAttempts);

    /// <summary>
    /// <see cref="RemoteMiner.Create"/>, then the registration (and, for the publisher, version 1);
    /// a miner that cannot be reached leaves this down (logged), to be probed later, rather than failing.
    /// </summary>
    public static async Task<FailoverMiner> ConnectAsync(
        MinerClientOptions clientOptions, string jobId, RoiHeadSpec spec, IReadOnlyDictionary<string, float[]> initialHeadWeights,
        string policy, IReadOnlyDictionary<string, string> policyOptions, bool publisher,
        FailoverOptions? options = null, Action<string>? log = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var remote = RemoteMiner.Create(clientOptions, jobId, spec, initialHeadWeights, policy, policyOptions, publisher);
        var miner = new FailoverMiner(remote, options, log, time);
        try
        {
            await miner.TryRemoteVoidAsync(remote.EnsureReadyAsync, cancellationToken).ConfigureAwait(false);
            return miner;
        }
        catch
        {
            await miner.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Publishes a weights version (publisher only). Returns whether a miner installed it; while the
    /// miner is down, or when this fails for that reason, the version is kept and published when the
    /// miner is reached again. A replica that missed it is logged.
    /// </summary>
    public async Task<bool> PublishAsync(ulong version, IReadOnlyDictionary<string, float[]> headWeights, CancellationToken cancellationToken = default)
    {
        if (!IsRemoteUp)
        {
            Remote.Defer(version, headWeights);
            return false;
        }

        var result = await TryRemoteAsync(ct => Remote.PublishAsync(version, headWeights, ct), cancellationToken).ConfigureAwait(false);
        if (result.Failure is not null)
        {
            return false;
        }

        foreach (var (endpoint, error) in result.Value!.Failed)
        {
            _log($"weights version {version} not installed on {endpoint}: {MinerFailures.Describe(error)}");
        }

        return true;
    }

    /// <summary>
    /// Mines one batch on the miner (see <see cref="RemoteMiner.MineAsync"/>), or with
    /// <paramref name="local"/> when the miner cannot.
    /// </summary>
    /// <param name="minWeightsVersion">The oldest acceptable scoring version (<see cref="StalenessGate.MinimumVersion"/>).</param>
    /// <param name="local">In-process mining of the same batch (InProcessMiner.Mine with the batch's feature maps).</param>
    public async Task<MiningOutcome> MineAsync(
        TrainingBatch batch, float[] features, int channels, int height, int width, ulong batchId, ulong minWeightsVersion,
        Func<MinedBatch> local, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        if (SkipReason() is { } skip)
        {
            return Local(local, skip);
        }

        var result = await TryRemoteAsync(
            ct => Remote.MineAsync(batch, features, channels, height, width, batchId, minWeightsVersion, ct), cancellationToken).ConfigureAwait(false);
        if (result.Failure is { } failure)
        {
            return Local(local, failure);
        }

        Interlocked.Increment(ref _remoteBatches);
        return new MiningOutcome(result.Value!, Remote: true, FallbackReason: null);
    }

    public ValueTask DisposeAsync() => Remote.DisposeAsync();

    private MiningOutcome Local(Func<MinedBatch> local, string reason)
    {
        var mined = local();
        Interlocked.Increment(ref _localBatches);
        lock (_gate)
        {
            _localSinceDown++;
        }

        return new MiningOutcome(mined, Remote: false, FallbackReason: reason);
    }

    /// <summary>Null when the miner should be tried (up, or down and due for a probe); else why not.</summary>
    private string? SkipReason()
    {
        lock (_gate)
        {
            if (!_down)
            {
                return null;
            }

            var now = _time.GetTimestamp();
            if (now >= _nextProbe)
            {
                _nextProbe = now + Ticks(_options.ProbeInterval); // one probe per interval, however many callers
                return null;
            }

            var wait = Seconds(_nextProbe - now);
            return $"miner unavailable: {_downReason} (next try in {wait.ToString("0.0", CultureInfo.InvariantCulture)} s)";
        }
    }

    private async Task<(T? Value, string? Failure)> TryRemoteAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _remoteAttempts);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_options.RemoteTimeout != Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(_options.RemoteTimeout);
        }

        try
        {
            var value = await call(timeout.Token).ConfigureAwait(false);
            MarkUp();
            return (value, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (default, MarkDown($"no answer within {_options.RemoteTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s"));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && MinerFailures.IsUnavailable(e))
        {
            return (default, MarkDown(MinerFailures.Describe(e)));
        }
    }

    private async Task TryRemoteVoidAsync(Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        await TryRemoteAsync(async ct =>
        {
            await call(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    private string MarkDown(string reason)
    {
        string? line = null;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            _nextProbe = now + Ticks(_options.ProbeInterval);
            if (!_down)
            {
                _down = true;
                _downSince = now;
                _localSinceDown = 0;
                Interlocked.Increment(ref _outages);
                line = $"miner unavailable ({Remote.Endpoint}): {reason}; mining in-process, trying the miner again every "
                    + $"{_options.ProbeInterval.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";
            }

            _downReason = reason;
        }

        if (line is not null)
        {
            _log(line);
        }

        return $"miner unavailable: {reason}";
    }

    private void MarkUp()
    {
        string line;
        lock (_gate)
        {
            if (!_down)
            {
                return;
            }

            _down = false;
            var seconds = Seconds(_time.GetTimestamp() - _downSince);
            line = $"miner back ({Remote.Endpoint}) after {seconds.ToString("0.0", CultureInfo.InvariantCulture)} s; "
                + $"{_localSinceDown} batches were mined in-process meanwhile";
            _downReason = null;
        }

        _log(line);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private double Seconds(long ticks) => (double)ticks / _time.TimestampFrequency;
}
