using Ohem.Onnx.Scoring;
using Ohem.Service.Jobs;

namespace Ohem.Service;

/// <summary>
/// What each failure the miner knows means as a gRPC status code: one table for calls and for
/// the per-batch errors of a Mine stream. Anything else is a bug and is not mapped here.
/// </summary>
internal static class MinerErrors
{
    /// <summary>gRPC status codes used by the miner (numeric values fixed by the gRPC spec).</summary>
    public enum Code
    {
        InvalidArgument = 3,
        NotFound = 5,
        AlreadyExists = 6,
        ResourceExhausted = 8,
        FailedPrecondition = 9,
        Internal = 13,
    }

    public static Code? CodeOf(Exception e) => e switch
    {
        JobNotFoundException => Code.NotFound,
        JobExistsException => Code.AlreadyExists,
        VersionNotHeldException or StaleVersionException => Code.FailedPrecondition,
        WeightsCapacityException => Code.ResourceExhausted,
        NonFiniteOutputException => Code.FailedPrecondition, // the weights diverged, not the request
        InvalidModelException or ArgumentException => Code.InvalidArgument,
        _ => null,
    };

    /// <summary>The message without .NET's "(Parameter 'x')" suffix: the text already names the field.</summary>
    public static string Message(Exception e) =>
        e is ArgumentException { ParamName: { } name } a ? a.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
}
