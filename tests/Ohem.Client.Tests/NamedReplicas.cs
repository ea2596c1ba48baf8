using Grpc.Net.Client.Balancer;
using Microsoft.Extensions.Logging;

namespace Ohem.Client.Tests;

/// <summary>
/// Loopback miners behind one name, as a Kubernetes headless Service gives a trainer its miner
/// pods: the client's resolver for dns:/// endpoints. DNS cannot carry the loopback ports, so
/// this stands in for it; <see cref="Set"/> changes what the name resolves to, as pods come and go.
/// </summary>
internal sealed class NamedReplicas : ResolverFactory
{
    public const string Endpoint = "dns:///ohem-miner-headless.test.svc.cluster.local:50051";

    private readonly Lock _gate = new();
    private readonly List<Resolution> _resolutions = [];
    private BalancerAddress[] _addresses = [];

    public NamedReplicas(params Uri[] replicas) => _addresses = Addresses(replicas);

    public override string Name => "dns";

    /// <summary>The replicas the name resolves to from now on; every client resolving it hears at once.</summary>
    public void Set(params Uri[] replicas)
    {
        Resolution[] resolutions;
        lock (_gate)
        {
            _addresses = Addresses(replicas);
            resolutions = [.. _resolutions];
        }

        foreach (var resolution in resolutions)
        {
            resolution.Refresh();
        }
    }

    public override Resolver Create(ResolverOptions options)
    {
        var resolution = new Resolution(this, options.LoggerFactory);
        lock (_gate)
        {
            _resolutions.Add(resolution);
        }

        return resolution;
    }

    private static BalancerAddress[] Addresses(Uri[] replicas) => [.. replicas.Select(r => new BalancerAddress(r.Host, r.Port))];

    private BalancerAddress[] Current()
    {
        lock (_gate)
        {
            return _addresses;
        }
    }

    private void Forget(Resolution resolution)
    {
        lock (_gate)
        {
            _resolutions.Remove(resolution);
        }
    }

    private sealed class Resolution(NamedReplicas name, ILoggerFactory loggerFactory) : PollingResolver(loggerFactory)
    {
        protected override Task ResolveAsync(CancellationToken cancellationToken)
        {
            Listener(ResolverResult.ForResult(name.Current()));
            return Task.CompletedTask;
        }

        protected override void Dispose(bool disposing)
        {
            name.Forget(this);
            base.Dispose(disposing);
        }
    }
}
