using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Ohem.Protocol.V1;

namespace Ohem.Service.Api;

/// <summary>
/// Writes (RegisterModel, PublishWeights, DeleteJob) need "authorization: Bearer &lt;token&gt;" when
/// a token is configured; reads and mining do not (they change no state). Checked before the
/// handler runs, so a rejected write changes nothing.
/// </summary>
public sealed class WriteAuthorizationInterceptor(IOptions<MinerOptions> options) : Interceptor
{
    private static readonly HashSet<string> Writes = [.. new[] { "RegisterModel", "PublishWeights", "DeleteJob" }.Select(m => $"/{HardExampleMiner.Descriptor.FullName}/{m}")];

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (options.Value.WriteToken is not { Length: > 0 } token || !Writes.Contains(context.Method))
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
