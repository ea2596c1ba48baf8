using Microsoft.Extensions.Logging;

namespace Ohem.Grpc.Server;

/// <summary>Duplex streaming: the handler reads the request stream and writes the response stream at once.</summary>
internal sealed class DuplexStreamingServerCallHandler<TRequest, TResponse>(
    Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> handler, GrpcServerOptions options, ILogger logger)
    : ServerCallHandler<TRequest, TResponse>(method, options, logger)
    where TRequest : class
    where TResponse : class
{
    protected override Task HandleCallCoreAsync(HttpContextServerCallContext call) =>
        handler(
            new HttpContextStreamReader<TRequest>(call, Method.RequestMarshaller),
            new HttpContextStreamWriter<TResponse>(call, Method.ResponseMarshaller),
            call);
}
