using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc.Server;

/// <summary>
/// Checks a request is gRPC before a call starts: HTTP/2 (or 3), and a content-type starting with
/// application/grpc (else 415, as the spec asks, so no HTTP client mistakes the answer for success).
/// te: trailers is not required: the spec uses it to detect broken proxies, and grpc-dotnet does not insist.
/// </summary>
internal static class ServerRequestValidation
{
    public static bool TryAccept(HttpContext httpContext, ILogger logger)
    {
        var request = httpContext.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            Reject(httpContext, logger, StatusCodes.Status426UpgradeRequired, $"Request protocol '{request.Protocol}' is not supported: gRPC needs HTTP/2.");
            return false;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            Reject(httpContext, logger, StatusCodes.Status415UnsupportedMediaType, $"Content-Type '{request.ContentType}' is not supported: gRPC needs application/grpc.");
            return false;
        }

        return true;
    }

    /// <summary>An HTTP error with the gRPC status alongside, for clients that read grpc-status from the headers.</summary>
    private static void Reject(HttpContext httpContext, ILogger logger, int httpStatus, string reason)
    {
        ServerLog.RequestRejected(logger, httpContext.Request.Path, reason);
        var response = httpContext.Response;
        response.StatusCode = httpStatus;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusTrailer] = ((int)StatusCode.Internal).ToString(CultureInfo.InvariantCulture);
        response.Headers[GrpcProtocol.MessageTrailer] = PercentEncoding.Encode(reason);
    }
}
