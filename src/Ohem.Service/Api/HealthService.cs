using Ohem.Protocol.Methods;
using Grpc.Health.V1;
using Microsoft.Extensions.Hosting;
using Ohem.Grpc;

namespace Ohem.Service.Api;

/// <summary>
/// grpc.health.v1.Health: SERVING for the server ("") and for the miner service while the host
/// runs, NOT_SERVING once it is shutting down (so load balancers stop sending new streams).
/// </summary>
public sealed class HealthService(IHostApplicationLifetime lifetime)
{
    public ServerServiceDefinition Definition() => ServerServiceDefinition.CreateBuilder()
        .AddMethod(MinerMethods.Check, (request, _) => Task.FromResult(new HealthCheckResponse { Status = StatusOf(request.Service) }))
        .AddMethod(MinerMethods.Watch, Watch)
        .Build();

    private HealthCheckResponse.Types.ServingStatus StatusOf(string service) => service switch
    {
        "" or MinerMethods.Miner => lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResponse.Types.ServingStatus.NotServing
            : HealthCheckResponse.Types.ServingStatus.Serving,
        // Not quoted: a name of any length would go back in a response header.
        _ => throw new RpcException(new Status(StatusCode.NotFound, $"unknown service ({service.Length} characters); this server has \"{MinerMethods.Miner}\".")),
    };

    private async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, ServerCallContext context)
    {
        var known = request.Service is "" or MinerMethods.Miner;
        await responses.WriteAsync(new HealthCheckResponse
        {
            Status = known ? StatusOf(request.Service) : HealthCheckResponse.Types.ServingStatus.ServiceUnknown,
        }).ConfigureAwait(false);
        if (!known)
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
            return;
        }

        using var untilStopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, untilStopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            await responses.WriteAsync(new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.NotServing }).ConfigureAwait(false);
        }
    }
}
