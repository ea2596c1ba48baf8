using Microsoft.Extensions.Logging;

namespace Ohem.Grpc.Server;

/// <summary>The server's log messages.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Error, "Handler for {Method} threw an exception; the call ends with UNKNOWN.")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(2, LogLevel.Debug, "Call {Method} ended with {StatusCode}: {Detail}")]
    public static partial void CallFailed(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(3, LogLevel.Debug, "Call {Method} exceeded its deadline.")]
    public static partial void DeadlineExceeded(ILogger logger, string method);

    [LoggerMessage(4, LogLevel.Debug, "Rejected a request to {Path}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string path, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Ending call {Method} after its deadline failed.")]
    public static partial void DeadlineFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "Call {Method}: a response message failed part way through its frame; the stream is reset.")]
    public static partial void BrokenFrame(ILogger logger, string method, Exception exception);
}
