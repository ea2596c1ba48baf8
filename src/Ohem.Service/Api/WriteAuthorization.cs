using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Ohem.Grpc;

namespace Ohem.Service.Api;

/// <summary>
/// Writes (RegisterModel, PublishWeights, DeleteJob) need "authorization: Bearer &lt;token&gt;" when
/// a token is configured; reads and mining do not (they change no state).
/// </summary>
public sealed class WriteAuthorization(IOptions<MinerOptions> options)
{
    public void Check(ServerCallContext context)
    {
        if (options.Value.WriteToken is not { Length: > 0 } token)
        {
            return;
        }

        var header = context.RequestHeaders.GetValue("authorization") ?? "";
        const string scheme = "Bearer ";
        var presented = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token)))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                presented.Length == 0 ? "this call changes state and needs \"authorization: Bearer <token>\"" : "the bearer token is not valid"));
        }
    }
}
