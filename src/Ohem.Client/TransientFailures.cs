using Grpc.Core;

namespace Ohem.Client;

/// <summary>
/// The one definition of "worth another try": the miner is down, restarting or shedding load.
/// The client's retries use it, and so does a trainer deciding to mine in-process meanwhile.
/// </summary>
public static class TransientFailures
{
    /// <summary>UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL (a stream cut mid-message) and UNKNOWN.</summary>
    public static bool IsTransient(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.ResourceExhausted or StatusCode.Internal or StatusCode.Unknown;

    /// <summary>A transient status, or a connection that could not be made or broke.</summary>
    public static bool IsTransient(Exception e) =>
        e is RpcException rpc ? IsTransient(rpc.StatusCode) : e is HttpRequestException or IOException;
}
