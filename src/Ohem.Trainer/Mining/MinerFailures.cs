using Ohem.Client;
using Grpc.Core;
using Polly.CircuitBreaker;

namespace Ohem.Trainer.Mining;

/// <summary>
/// Which failures mean "the miner cannot help with this batch right now" (mine in-process and try
/// again later) and which mean a bug to surface: Ohem.Client's transient failures
/// (<see cref="TransientFailures"/>), plus what the client gives up with (MinerUnavailableException,
/// an open circuit, a deadline) and the per-batch errors that are the miner's state, not the request's.
/// </summary>
internal static class MinerFailures
{
    /// <summary>True for an unreachable, restarting, overloaded or lagging miner; false for a wrong request or a bug.</summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        MinerUnavailableException or BrokenCircuitException or TimeoutException => true,
        MinerBatchException batch => IsMinerState(batch.Code),
        RpcException rpc => IsMinerState(rpc.StatusCode) || rpc.StatusCode == StatusCode.Cancelled,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        _ => TransientFailures.IsTransient(e),
    };

    /// <summary>One line for the log: the innermost useful message.</summary>
    public static string Describe(Exception e)
    {
        var message = e switch
        {
            AggregateException { InnerExceptions.Count: > 0 } a => string.Join("; ", a.InnerExceptions.Select(Describe)),
            MinerUnavailableException { InnerException: { } inner } => Describe(inner),
            _ => e.Message,
        };
        var line = message.ReplaceLineEndings(" ");
        return line.Length <= 300 ? line : string.Concat(line.AsSpan(0, 297), "...");
    }

    // NOT_FOUND: the miner lost the job (restarted) and it could not be registered again;
    // FAILED_PRECONDITION: it does not hold the version wanted (waited, or the weights diverged).
    private static bool IsMinerState(StatusCode code) => TransientFailures.IsTransient(code)
        || code is StatusCode.DeadlineExceeded or StatusCode.Aborted or StatusCode.NotFound or StatusCode.FailedPrecondition;
}
