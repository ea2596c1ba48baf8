using Grpc.Core;

namespace Ohem.Trainer.Mining;

/// <summary>
/// The miner answered a batch with an error (MineResponse.error) instead of a selection. The code
/// says whose fault it is: INVALID_ARGUMENT means this trainer's request is wrong; NOT_FOUND,
/// FAILED_PRECONDITION, RESOURCE_EXHAUSTED and INTERNAL are the miner's state (a restarted miner,
/// a weights version it does not hold, load).
/// </summary>
public sealed class MinerBatchException : Exception
{
    public MinerBatchException(ulong batchId, StatusCode code, string detail)
        : base($"the miner failed batch {batchId} with {code} ({(int)code}): {detail}")
    {
        BatchId = batchId;
        Code = code;
        Detail = detail;
    }

    /// <summary>The request's batch id.</summary>
    public ulong BatchId { get; }

    /// <summary>The gRPC status code the miner gave the batch.</summary>
    public StatusCode Code { get; }

    /// <summary>The miner's message (it names the offending field).</summary>
    public string Detail { get; }
}
