using Microsoft.Extensions.Logging;

namespace Ohem.Grpc.Server;

/// <summary>Client streaming: the handler reads the request stream and returns one response.</summary>
internal sealed class ClientStreamingServerCallHandler<TRequest, TResponse>(
    Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> handler, GrpcServerOptions options, ILogger logger)
    : ServerCallHandler<TRequest, TResponse>(method, options, logger)
    where TRequest : class
    where TResponse : class
{
    protected override async Task HandleCallCoreAsync(HttpContextServerCallContext call)
    {
        var reader = new HttpContextStreamReader<TRequest>(call, Method.RequestMarshaller);
        var response = await handler(reader, call).ConfigureAwait(false);
        await call.WriteMessageAsync(response, Method.ResponseMarshaller, default).ConfigureAwait(false);
    }
}
