using Microsoft.AspNetCore.Http;

namespace Ohem.Grpc.Server;

/// <summary>A method's endpoint: handles each HTTP/2 request to its path.</summary>
internal interface IServerCallHandler
{
    Task HandleCallAsync(HttpContext httpContext);
}
