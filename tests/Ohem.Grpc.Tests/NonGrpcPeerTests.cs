using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>
/// Broken or non-gRPC answers (a proxy's error page, a server that forgets the status): the client
/// synthesises a status, HTTP codes mapped as grpc/grpc doc/http-grpc-status-mapping.md says.
/// </summary>
public sealed class NonGrpcPeerTests
{
    private static async Task<RpcException> CallAsync(RequestDelegate answer)
    {
        await using var server = await TestServer.StartAsync(endpoints => endpoints.MapPost(TestMethods.Unary.FullName, answer));
        using var channel = server.CreateChannel();
        var call = channel.CreateCallInvoker().AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(deadline: Bounded.Deadline), new Payload());
        return await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
    }

    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    public async Task Http_error_statuses_map_to_grpc_statuses(int httpStatus, StatusCode expected)
    {
        var error = await CallAsync(context =>
        {
            context.Response.StatusCode = httpStatus;
            context.Response.ContentType = "text/html";
            return context.Response.WriteAsync("<html>proxy error</html>");
        });
        Assert.Equal(expected, error.StatusCode);
        Assert.Contains(httpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_200_that_is_not_grpc_is_internal()
    {
        var error = await CallAsync(context =>
        {
            context.Response.ContentType = "text/html";
            return context.Response.WriteAsync("<html>hello</html>");
        });
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("text/html", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_without_grpc_status_is_unknown()
    {
        var error = await CallAsync(async context =>
        {
            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(RawGrpc.Frame(new Payload { Id = 1 }));
        });
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.Contains("grpc-status", error.Status.Detail, StringComparison.Ordinal);
    }
}
