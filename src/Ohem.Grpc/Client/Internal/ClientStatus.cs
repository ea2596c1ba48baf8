using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc.Client;

/// <summary>
/// Where a client call's status comes from when the server did not send one: HTTP statuses
/// (grpc/grpc doc/http-grpc-status-mapping.md), HTTP/2 RST_STREAM codes (PROTOCOL-HTTP2.md) and
/// transport exceptions.
/// </summary>
internal static class ClientStatus
{
    /// <summary>grpc-status / grpc-message from response headers (Trailers-Only) or trailers; null when absent.</summary>
    public static Status? FromHeaders(HttpHeaders headers)
    {
        if (!headers.TryGetValues(GrpcProtocol.StatusTrailer, out var codes))
        {
            return null;
        }

        var text = codes.FirstOrDefault();
        var detail = headers.TryGetValues(GrpcProtocol.MessageTrailer, out var messages)
            ? PercentEncoding.Decode(messages.FirstOrDefault() ?? string.Empty)
            : string.Empty;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return new Status(StatusCode.Unknown, $"Invalid grpc-status '{text}'. {detail}");
        }

        return new Status((StatusCode)code, detail);
    }

    public static Status FromHttpStatus(HttpStatusCode status)
    {
        var code = status switch
        {
            HttpStatusCode.BadRequest => StatusCode.Internal,
            HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
            HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
            HttpStatusCode.NotFound => StatusCode.Unimplemented,
            HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
                => StatusCode.Unavailable,
            _ => StatusCode.Unknown,
        };
        return new Status(code, $"Bad gRPC response. HTTP status code: {(int)status}.");
    }

    public static Status FromHttp2ErrorCode(long errorCode, Exception exception)
    {
        var code = errorCode switch
        {
            0x7 => StatusCode.Unavailable,        // REFUSED_STREAM: nothing was processed
            0x8 => StatusCode.Cancelled,          // CANCEL
            0xB => StatusCode.ResourceExhausted,  // ENHANCE_YOUR_CALM
            0xC => StatusCode.PermissionDenied,   // INADEQUATE_SECURITY
            _ => StatusCode.Internal,
        };
        return new Status(code, $"HTTP/2 error code 0x{errorCode:X} from the server: {exception.Message}", exception);
    }

    public static Status FromException(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case RpcException rpc:
                    return rpc.Status;
                case HttpProtocolException protocol:
                    return FromHttp2ErrorCode(protocol.ErrorCode, protocol);
            }
        }

        return exception switch
        {
            OperationCanceledException => new Status(StatusCode.Cancelled, "The call was canceled.", exception),
            HttpRequestException or IOException =>
                new Status(StatusCode.Unavailable, $"Error talking to the server. {exception.GetType().Name}: {exception.Message}", exception),
            _ => new Status(StatusCode.Internal, $"{exception.GetType().Name}: {exception.Message}", exception),
        };
    }
}
