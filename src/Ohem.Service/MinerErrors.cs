using Grpc.Core;
using Ohem.Onnx.Scoring;
using Ohem.Service.Jobs;

namespace Ohem.Service;

/// <summary>
/// What each failure the miner knows means as a gRPC status code: one table for calls and for
/// the per-batch errors of a Mine stream. Anything else is a bug and is not mapped here.
/// </summary>
internal static class MinerErrors
{
    public static StatusCode? CodeOf(Exception e) => e switch
    {
        JobNotFoundException => StatusCode.NotFound,
        JobExistsException => StatusCode.AlreadyExists,
        VersionNotHeldException or StaleVersionException => StatusCode.FailedPrecondition,
        WeightsCapacityException => StatusCode.ResourceExhausted,
        NonFiniteOutputException => StatusCode.FailedPrecondition, // the weights diverged, not the request
        InvalidModelException or ArgumentException => StatusCode.InvalidArgument,
        // A streamed message that does not parse (grpc-dotnet answers the same for a unary one);
        // thrown from the handler's read, it would otherwise end the call UNKNOWN and log an error.
        Google.Protobuf.InvalidProtocolBufferException => StatusCode.Internal,
        _ => null,
    };

    /// <summary>The longest status message: messages quote what the client sent (a job id, a
    /// policy name), and a 20 KB id quoted whole made a response header larger than clients accept
    /// (grpcio's limit is 8 KB), so the client saw RESOURCE_EXHAUSTED instead of the status.</summary>
    public const int MaxMessageLength = 1024;

    /// <summary>The message without .NET's "(Parameter 'x')" suffix (the text already names the
    /// field), cut to <see cref="MaxMessageLength"/>.</summary>
    public static string Message(Exception e)
    {
        var message = e is ArgumentException { ParamName: { } name } a ? a.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
        return message.Length <= MaxMessageLength ? message : string.Concat(message.AsSpan(0, MaxMessageLength - 40), $"... ({message.Length} characters)");
    }
}
