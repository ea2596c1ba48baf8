using Microsoft.AspNetCore.Http;
using Ohem.Grpc.Server;

namespace Ohem.Grpc;

/// <summary>Access to the ASP.NET Core request behind a server call.</summary>
public static class ServerCallContextExtensions
{
    /// <summary>The call's <see cref="HttpContext"/>; throws for a context not created by this server (a test double).</summary>
    public static HttpContext GetHttpContext(this ServerCallContext context) =>
        context is HttpContextServerCallContext call
            ? call.HttpContext
            : throw new InvalidOperationException("This ServerCallContext does not come from an ASP.NET Core request.");
}
