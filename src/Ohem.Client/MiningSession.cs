using Grpc.Core;
using Ohem.Protocol.V1;

namespace Ohem.Client;

/// <summary>
/// Pipelined mining over one Mine stream at a time. Each batch's task completes exactly once,
/// with the response for its batch id. A stream goes to the client's next joined replica in turn
/// (<see cref="ReplicaSet"/>), so sessions spread over the replicas. When the stream breaks (a
/// miner dies, restarts or leaves the resolution), a new stream is opened (on another replica
/// first; retries with back-off through the client's pipeline) and every unanswered batch is sent
/// again, in order; a response for a batch already
/// answered is dropped. When no miner can be reached, unanswered batches fail with
/// <see cref="MinerUnavailableException"/> and the caller can mine locally.
/// </summary>
public sealed class MiningSession : IAsyncDisposable
{
    private readonly MinerClient _client;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly List<Pending> _pending = []; // unanswered, in send order
    private readonly CancellationTokenSource _closed = new();
    private Connection? _connection;
    private Task? _reconnecting;
    private MinerReplica? _replica; // the current stream's, or the last one's
    private MinerReplica? _avoid; // where the last stream broke

    internal MiningSession(MinerClient client) => _client = client;

    /// <summary>Streams opened so far (1 unless streams broke).</summary>
    public int StreamsOpened { get; private set; }

    /// <summary>The replica the current stream goes to (the last one's, between streams; the endpoints, before the first).</summary>
    public string Endpoint
    {
        get
        {
            lock (_gate)
            {
                return _replica?.Address ?? string.Join(", ", _client.Options.Endpoints);
            }
        }
    }

    /// <summary>Sends one batch; the task completes with its response (which may carry a batch error).</summary>
    public async Task<MineResponse> MineAsync(MineRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_closed.IsCancellationRequested, this);
        var pending = new Pending(request);
        Connection? connection;
        lock (_gate)
        {
            if (_pending.Any(p => p.Request.BatchId == request.BatchId))
            {
                throw new ArgumentException($"batch {request.BatchId} is already in flight; batch ids must be unique among unanswered batches.", nameof(request));
            }

            _pending.Add(pending);
            connection = _connection;
        }

        if (connection is null)
        {
            EnsureReconnecting(null); // the (re)connection sends everything pending
        }
        else
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // Written here only if the stream is still current; else the reconnection resends it.
                if (ReferenceEquals(Volatile.Read(ref _connection), connection))
                {
                    await connection.Call.RequestStream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                EnsureReconnecting(connection);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        return await pending.Response.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_closed.IsCancellationRequested)
        {
            return;
        }

        Connection? connection;
        lock (_gate)
        {
            connection = _connection;
            _connection = null;
        }

        await _closed.CancelAsync().ConfigureAwait(false);
        if (connection is not null)
        {
            try
            {
                await connection.Call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException)
            {
                // Already broken: nothing to close politely.
            }

            connection.Call.Dispose();
        }

        Fail(new ObjectDisposedException(nameof(MiningSession)));
        _writeLock.Dispose();
        _closed.Dispose();
    }

    private void EnsureReconnecting(Connection? broken)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_connection, broken) || _closed.IsCancellationRequested)
            {
                return; // someone else already replaced that stream
            }

            if (broken is not null)
            {
                _connection = null;
                broken.Call.Dispose();
                _avoid = broken.Replica; // fail over
            }

            if (_reconnecting is { IsCompleted: false })
            {
                return;
            }

            _reconnecting = Task.Run(ReconnectAsync);
        }
    }

    private async Task ReconnectAsync()
    {
        try
        {
            await _client.StreamPipeline.ExecuteAsync(async ct => await ConnectOnceAsync(ct).ConfigureAwait(false), _closed.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!_closed.IsCancellationRequested)
        {
            Fail(new MinerUnavailableException($"no miner answered ({string.Join(", ", _client.Options.Endpoints)}): {e.Message}", e));
        }
        catch (OperationCanceledException)
        {
            // Disposed while reconnecting.
        }
    }

    /// <summary>Opens a stream and resends every unanswered batch, in order, before anyone else writes.</summary>
    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        Connection? connection = null;
        try
        {
            MinerReplica? avoid;
            lock (_gate)
            {
                avoid = _avoid;
            }

            var replica = await _client.Replicas.NextForStreamAsync(avoid, cancellationToken).ConfigureAwait(false);
            var call = replica.Client.Mine(_client.CallOptionsFor(write: false, _closed.Token, Timeout.InfiniteTimeSpan));
            connection = new Connection(replica, call);
            Pending[] resend;
            lock (_gate)
            {
                _connection = connection;
                _replica = replica;
                resend = [.. _pending];
                StreamsOpened++;
            }

            foreach (var pending in resend)
            {
                await call.RequestStream.WriteAsync(pending.Request, cancellationToken).ConfigureAwait(false);
            }

            if (resend.Length > 0)
            {
                // The miner answers a stream with headers at once; HttpClient sends the request only
                // with its first message. No headers: this attempt never reached a miner.
                await call.ResponseHeadersAsync.WaitAsync(_client.Options.CallTimeout, cancellationToken).ConfigureAwait(false);
            }

            _ = Task.Run(() => ReadAsync(connection), CancellationToken.None);
        }
        catch (Exception)
        {
            lock (_gate)
            {
                if (connection is not null && ReferenceEquals(_connection, connection))
                {
                    _connection = null;
                    _avoid = connection.Replica; // the next try goes elsewhere
                }
            }

            connection?.Call.Dispose();
            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadAsync(Connection connection)
    {
        try
        {
            var responses = connection.Call.ResponseStream;
            while (await responses.MoveNext(_closed.Token).ConfigureAwait(false))
            {
                Complete(responses.Current);
            }
        }
        catch (Exception) when (_closed.IsCancellationRequested)
        {
            return;
        }
        catch (Exception)
        {
            // The stream broke; resend what is unanswered below.
        }

        // A stream that ends (even with OK, as on a miner's shutdown) while batches are unanswered
        // is broken: resend them. With nothing unanswered, drop it; the next batch opens another.
        bool unanswered;
        lock (_gate)
        {
            if (!ReferenceEquals(_connection, connection) || _closed.IsCancellationRequested)
            {
                return;
            }

            unanswered = _pending.Count > 0;
            if (!unanswered)
            {
                _connection = null;
            }
        }

        if (unanswered)
        {
            EnsureReconnecting(connection);
        }
        else
        {
            connection.Call.Dispose();
        }
    }

    private void Complete(MineResponse response)
    {
        Pending? answered = null;
        lock (_gate)
        {
            var index = _pending.FindIndex(p => p.Request.BatchId == response.BatchId);
            if (index >= 0)
            {
                answered = _pending[index];
                _pending.RemoveAt(index);
            }
        }

        answered?.Response.TrySetResult(response); // a duplicate (answered before a resend) finds nothing
    }

    private void Fail(Exception error)
    {
        Pending[] failed;
        lock (_gate)
        {
            failed = [.. _pending];
            _pending.Clear();
        }

        foreach (var pending in failed)
        {
            pending.Response.TrySetException(error);
        }
    }

    private sealed class Pending(MineRequest request)
    {
        public MineRequest Request { get; } = request;

        public TaskCompletionSource<MineResponse> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Connection(MinerReplica replica, AsyncDuplexStreamingCall<MineRequest, MineResponse> call)
    {
        public MinerReplica Replica { get; } = replica;

        public AsyncDuplexStreamingCall<MineRequest, MineResponse> Call { get; } = call;
    }
}

/// <summary>No miner replica could take the batches; the trainer should mine locally.</summary>
public sealed class MinerUnavailableException(string message, Exception inner) : Exception(message, inner);
