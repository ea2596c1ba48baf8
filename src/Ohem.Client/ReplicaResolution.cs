using Grpc.Core;
using Grpc.Net.Client.Balancer;

namespace Ohem.Client;

/// <summary>
/// grpc-dotnet's resolvers put to one use: a channel over a name (dns:///name:port) whose load
/// balancer connects nowhere and hands every resolution (the replicas' addresses, or why there are
/// none) to <see cref="ReplicaSet"/>. The set keeps a channel of its own per address, because
/// writes must reach every replica, which no balanced channel does.
/// </summary>
internal sealed class ReplicaResolution(Action<ChannelState> resolved) : LoadBalancerFactory
{
    public const string PolicyName = "ohem_replicas";

    public override string Name => PolicyName;

    public override LoadBalancer Create(LoadBalancerOptions options) => new Listener(options.Controller, resolved);

    private sealed class Listener(IChannelControlHelper controller, Action<ChannelState> resolved) : LoadBalancer
    {
        public override void UpdateChannelState(ChannelState state)
        {
            resolved(state);

            // Ready, so that GrpcChannel.ConnectAsync (which starts the resolver) returns.
            controller.UpdateState(new BalancerState(ConnectivityState.Ready, NoCalls.Instance));
        }

        public override void RequestConnection()
        {
            // Nothing to connect: the replicas' own channels do.
        }
    }

    private sealed class NoCalls : SubchannelPicker
    {
        public static readonly NoCalls Instance = new();

        public override PickResult Pick(PickContext context) =>
            PickResult.ForFailure(new Status(StatusCode.Internal, "a resolution channel carries no calls; each replica has a channel of its own"));
    }
}
