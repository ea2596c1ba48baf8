using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Ohem.Client;

/// <summary>
/// The replicas a client reaches now: each endpoint as given (one replica), or resolved by
/// grpc-dotnet's resolver for its scheme (every address behind a name), with one channel per
/// address. A replica that appears is joined (<c>join</c>: brought up to date with the client's
/// writes) before Mine streams go to it; a join that failed is tried again at each resolution. A
/// replica that disappears from the resolution is dropped: its channel closes, and a stream on it
/// breaks and is resent elsewhere.
/// </summary>
internal sealed class ReplicaSet : IDisposable
{
    private readonly IList<string> _endpoints;
    private readonly Func<string, GrpcChannel> _connect;
    private readonly Func<MinerReplica, Task> _join;
    private readonly Lock _gate = new();
    private readonly string[]?[] _resolved; // per endpoint: its addresses once heard from
    private readonly Status?[] _failures; // per endpoint: why its last resolution found nothing
    private readonly List<MinerReplica> _replicas = []; // in endpoint, then resolution, order
    private readonly TaskCompletionSource _everyEndpointHeard = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(GrpcChannel Channel, ServiceProvider Services)> _resolutions = [];
    private long _nextStream = Random.Shared.Next(); // trainers start on different replicas
    private bool _disposed;

    /// <param name="connect">A channel to one address.</param>
    /// <param name="join">Brings a replica up to date and sets <see cref="MinerReplica.Joined"/>; throws when it cannot.</param>
    public ReplicaSet(MinerClientOptions options, Func<string, GrpcChannel> connect, Func<MinerReplica, Task> join)
    {
        _endpoints = options.Endpoints;
        _connect = connect;
        _join = join;
        _resolved = new string[]?[_endpoints.Count];
        _failures = new Status?[_endpoints.Count];
        for (var i = 0; i < _endpoints.Count; i++)
        {
            if (!MinerEndpoint.IsResolved(_endpoints[i]))
            {
                Update(i, [_endpoints[i]], null);
                continue;
            }

            var endpoint = i;
            var services = new ServiceCollection()
                .AddSingleton(options.Resolver ?? new DnsResolverFactory(options.ResolveInterval))
                .AddSingleton<LoadBalancerFactory>(new ReplicaResolution(state => OnResolved(endpoint, state)))
                .BuildServiceProvider();
            var resolution = GrpcChannel.ForAddress(_endpoints[i], new GrpcChannelOptions
            {
                Credentials = ChannelCredentials.Insecure,
                ServiceProvider = services,
                ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new LoadBalancingConfig(ReplicaResolution.PolicyName) } },
            });
            _resolutions.Add((resolution, services));
            _ = StartResolvingAsync(resolution);
        }
    }

    /// <summary>Every replica now, joined or not.</summary>
    public IReadOnlyList<MinerReplica> Current
    {
        get
        {
            lock (_gate)
            {
                return [.. _replicas];
            }
        }
    }

    /// <summary>
    /// Every replica once each endpoint has been resolved (or failed to be) at least once.
    /// </summary>
    /// <exception cref="RpcException">UNAVAILABLE: the endpoints resolved to no replica.</exception>
    public async Task<IReadOnlyList<MinerReplica>> ResolvedAsync(CancellationToken cancellationToken)
    {
        await _everyEndpointHeard.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var current = Current;
        return current.Count > 0 ? current : throw Unavailable("resolved to no miner replica");
    }

    /// <summary>
    /// The replica for a new Mine stream: the next joined one in turn, other than <paramref name="avoid"/>
    /// (where the last stream broke) when there is another; waits for joins in progress when none has joined.
    /// </summary>
    /// <exception cref="RpcException">UNAVAILABLE: no replica has joined and none is joining.</exception>
    public async Task<MinerReplica> NextForStreamAsync(MinerReplica? avoid, CancellationToken cancellationToken)
    {
        await ResolvedAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            Task[] joining;
            lock (_gate)
            {
                var joined = _replicas.Where(r => r.Joined).ToList();
                if (joined.Count > 1)
                {
                    joined.Remove(avoid!);
                }

                if (joined.Count > 0)
                {
                    return joined[(int)(_nextStream++ % joined.Count)];
                }

                joining = [.. _replicas.Select(r => r.Joining).Where(t => !t.IsCompleted)];
            }

            if (joining.Length == 0)
            {
                throw Unavailable("has no replica that took the client's writes");
            }

            await Task.WhenAny(joining).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        MinerReplica[] replicas;
        lock (_gate)
        {
            _disposed = true;
            replicas = [.. _replicas];
            _replicas.Clear();
        }

        foreach (var (channel, services) in _resolutions)
        {
            channel.Dispose();
            services.Dispose();
        }

        foreach (var replica in replicas)
        {
            replica.Dispose();
        }
    }

    private static string AddressOf(BalancerAddress address) =>
        new UriBuilder(Uri.UriSchemeHttp, address.EndPoint.Host, address.EndPoint.Port).Uri.ToString();

    private static async Task StartResolvingAsync(GrpcChannel resolution)
    {
        try
        {
            await resolution.ConnectAsync().ConfigureAwait(false); // starts the resolver
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Disposed before the first resolution.
        }
    }

    private void OnResolved(int endpoint, ChannelState state) =>
        Update(endpoint, state.Status.StatusCode == StatusCode.OK ? [.. (state.Addresses ?? []).Select(AddressOf)] : null, state.Status);

    /// <summary>Adds the replicas that appeared (joining them), drops those gone; failed joins are tried again.</summary>
    private void Update(int endpoint, string[]? addresses, Status? status)
    {
        var dropped = new List<MinerReplica>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            // A failed resolution keeps the replicas of the last good one: DNS hiccups do not drop a pool.
            _resolved[endpoint] = addresses ?? _resolved[endpoint] ?? [];
            _failures[endpoint] = addresses is null ? status : null;
            var wanted = _resolved.SelectMany(a => a ?? []).Distinct(StringComparer.Ordinal).ToList();
            dropped.AddRange(_replicas.Where(r => !wanted.Contains(r.Address)));
            _replicas.RemoveAll(dropped.Contains);
            foreach (var address in wanted.Where(a => !_replicas.Any(r => r.Address == a)))
            {
                _replicas.Add(new MinerReplica(address, _connect(address)));
            }

            foreach (var replica in _replicas.Where(r => !r.Joined && r.Joining.IsCompleted))
            {
                replica.Joining = JoinAsync(replica);
            }

            if (_resolved.All(a => a is not null))
            {
                _everyEndpointHeard.TrySetResult();
            }
        }

        foreach (var replica in dropped)
        {
            replica.Dispose();
        }
    }

    private async Task JoinAsync(MinerReplica replica)
    {
        await Task.Yield(); // not under the lock, not on the resolver's thread
        try
        {
            await _join(replica).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Not joined: no streams go to it; the next resolution or write tries again.
        }
    }

    private RpcException Unavailable(string what)
    {
        string? why;
        lock (_gate)
        {
            why = string.Join("; ", _failures.OfType<Status>().Select(s => s.Detail));
        }

        return new RpcException(new Status(StatusCode.Unavailable, $"{string.Join(", ", _endpoints)} {what}{(why.Length > 0 ? ": " + why : "")}"));
    }
}
