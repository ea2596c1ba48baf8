using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc.Server;

/// <summary>
/// What every call kind shares: request validation, lifting Kestrel's per-stream body limits, the
/// call's start and end (status in trailers, or Trailers-Only). A subclass only reads the
/// request, runs its kind of handler and writes the response.
/// </summary>
internal abstract class ServerCallHandler<TRequest, TResponse>(
    Method<TRequest, TResponse> method, GrpcServerOptions options, ILogger logger) : IServerCallHandler
    where TRequest : class
    where TResponse : class
{
    protected Method<TRequest, TResponse> Method { get; } = method;

    public async Task HandleCallAsync(HttpContext httpContext)
    {
        if (!ServerRequestValidation.TryAccept(httpContext, logger))
        {
            return;
        }

        LiftBodyLimits(httpContext);
        var call = HttpContextServerCallContext.Start(httpContext, Method.FullName, options, logger);
        await using (call.ConfigureAwait(false))
        {
            try
            {
                await HandleCallCoreAsync(call).ConfigureAwait(false);
                await call.EndCallAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                await call.EndCallAsync(ex).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads the request, runs the handler, writes the response.</summary>
    protected abstract Task HandleCallCoreAsync(HttpContextServerCallContext call);

    /// <summary>
    /// Kestrel's MaxRequestBodySize (30 MB) and MinRequestBodyDataRate apply to the whole HTTP/2
    /// stream: a long-lived or big-message call would trip them. Our own per-message limit applies instead.
    /// </summary>
    private static void LiftBodyLimits(HttpContext httpContext)
    {
        if (httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        if (httpContext.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
    }
}
