using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ohem.Grpc.Server;

/// <summary>A path under a known service with no such method: UNIMPLEMENTED, as a Trailers-Only response.</summary>
internal sealed class UnimplementedMethodHandler(ILogger logger)
{
    public Task HandleCallAsync(HttpContext httpContext)
    {
        if (ServerRequestValidation.TryAccept(httpContext, logger))
        {
            httpContext.Response.ContentType = Ohem.Grpc.Internal.GrpcProtocol.ContentType;
            HttpContextServerCallContext.WriteStatus(
                httpContext.Response,
                new Status(StatusCode.Unimplemented, $"Method {httpContext.Request.Path} is unimplemented."),
                trailers: null);
        }

        return Task.CompletedTask;
    }
}
