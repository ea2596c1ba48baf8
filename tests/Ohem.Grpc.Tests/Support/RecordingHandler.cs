using System.Collections.Concurrent;

namespace Ohem.Grpc.Tests.Support;

/// <summary>An HTTP handler that records what went over the wire (request and response headers), to check the protocol itself.</summary>
internal sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    public ConcurrentQueue<HttpRequestMessage> Requests { get; } = new();

    public ConcurrentQueue<HttpResponseMessage> Responses { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        var response = await base.SendAsync(request, cancellationToken);
        Responses.Enqueue(response);
        return response;
    }
}
