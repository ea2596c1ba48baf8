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
        _ => null,
    };

    /// <summary>The message without .NET's "(Parameter 'x')" suffix: the text already names the field.</summary>
    public static string Message(Exception e) =>
        e is ArgumentException { ParamName: { } name } a ? a.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
}
