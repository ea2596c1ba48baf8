using System.Net;
using System.Net.Http.Headers;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc.Client;

/// <summary>The request body of a call with one request message: written once HttpClient asks for it (and again on a transparent retry).</summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly Func<Stream, CancellationToken, Task> _write;

    public UnaryRequestContent(Func<Stream, CancellationToken, Task> write)
    {
        _write = write;
        Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _write(stream, default);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        _write(stream, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
