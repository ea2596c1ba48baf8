using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Ohem.Protocol.V1;
using Ohem.Service.Mining;

namespace Ohem.Service.Api;

/// <summary>
/// Binds <see cref="MinerService"/>: every generated method but Mine as Grpc.Tools describes it,
/// and Mine through <see cref="MineMethodProvider"/>, whose request marshaller parses feature
/// bytes into pooled buffers (<see cref="ReceivedBatch"/>) instead of an array per batch.
/// </summary>
public static class MinerServiceBinder
{
    /// <remarks>The second parameter is the generated base: grpc-dotnet binds the methods that override it.</remarks>
    public static void BindService(ServiceBinderBase serviceBinder, HardExampleMiner.HardExampleMinerBase serviceImpl) =>
        HardExampleMiner.BindService(new WithoutMine(serviceBinder), serviceImpl);

    private sealed class WithoutMine(ServiceBinderBase inner) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            inner.AddMethod(method, handler);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            if (method.Name != nameof(MinerService.Mine))
            {
                inner.AddMethod(method, handler);
            }
        }
    }
}

/// <summary>Adds ohem.v1.HardExampleMiner/Mine with the pooled request parser (grpc-dotnet's extension point for custom methods).</summary>
internal sealed class MineMethodProvider(FeatureBufferPool featureBuffers) : IServiceMethodProvider<MinerService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<MinerService> context) =>
        context.AddDuplexStreamingMethod(ReceivedBatch.MineMethod(featureBuffers), [], (service, requests, responses, call) => service.Mine(requests, responses, call));
}
