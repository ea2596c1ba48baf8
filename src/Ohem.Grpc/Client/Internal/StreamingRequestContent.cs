using System.Net;
using System.Net.Http.Headers;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc.Client;

/// <summary>
/// The request body of a streaming call. HttpClient hands us the HTTP/2 request stream here and
/// we keep it open (this method does not return) until the request stream is completed
/// (half-close: END_STREAM) or the call is aborted. So writes happen while SendAsync is still
/// waiting for, or has returned, the response headers: never await SendAsync before writing.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent()
    {
        Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
    }

    /// <summary>The HTTP/2 request stream, once HttpClient has opened it.</summary>
    public Task<Stream> StreamTask => _stream.Task;

    /// <summary>Ends the body: HttpClient sends END_STREAM.</summary>
    public void Complete() => _complete.TrySetResult();

    /// <summary>Abandons the body: HttpClient resets the stream if it is still open.</summary>
    public void Abort()
    {
        _stream.TrySetCanceled();
        _complete.TrySetCanceled();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, default);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        await _complete.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
