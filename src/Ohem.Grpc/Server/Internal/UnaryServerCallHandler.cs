using Microsoft.Extensions.Logging;

namespace Ohem.Grpc.Server;

/// <summary>Unary: one request, the handler, one response.</summary>
internal sealed class UnaryServerCallHandler<TRequest, TResponse>(
    Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler, GrpcServerOptions options, ILogger logger)
    : ServerCallHandler<TRequest, TResponse>(method, options, logger)
    where TRequest : class
    where TResponse : class
{
    protected override async Task HandleCallCoreAsync(HttpContextServerCallContext call)
    {
        var request = await call.ReadSingleMessageAsync(Method.RequestMarshaller).ConfigureAwait(false);
        var response = await handler(request, call).ConfigureAwait(false);
        await call.WriteMessageAsync(response, Method.ResponseMarshaller, default).ConfigureAwait(false);
    }
}
