using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc.Server;

/// <summary>
/// One server call over one HTTP/2 stream: the handler's view (<see cref="ServerCallContext"/>)
/// and the call's life: the deadline, and the one lock that orders response writes against the
/// end of the call, so a status is written once, after the last message, never in the middle.
/// </summary>
internal sealed class HttpContextServerCallContext : ServerCallContext, IAsyncDisposable
{
    // CancellationTokenSource.CancelAfter takes at most uint.MaxValue - 1 ms (about 49 days).
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);

    private readonly HttpContext _http;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private CancellationTokenSource? _deadlineCts;
    private CancellationTokenSource? _callCts;
    private CancellationTokenRegistration _deadlineRegistration;
    private Task? _deadlineTask;
    private readonly TimeSpan _timeout;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private bool _ended;
    private volatile bool _deadlineReached;

    public HttpContextServerCallContext(HttpContext httpContext, string method, GrpcServerOptions options, ILogger logger)
    {
        _http = httpContext;
        Method = method;
        _options = options;
        _logger = logger;
        CancellationToken = httpContext.RequestAborted;
    }

    public HttpContext HttpContext => _http;

    public override string Method { get; }

    public override string Host => _http.Request.Host.Value ?? string.Empty;

    public override string Peer
    {
        get
        {
            var connection = _http.Connection;
            return connection.RemoteIpAddress?.AddressFamily switch
            {
                AddressFamily.InterNetwork => $"ipv4:{connection.RemoteIpAddress}:{connection.RemotePort}",
                AddressFamily.InterNetworkV6 => $"ipv6:[{connection.RemoteIpAddress}]:{connection.RemotePort}",
                null => "unknown",
                _ => $"unknown:{connection.RemoteIpAddress}:{connection.RemotePort}",
            };
        }
    }

    public override DateTime Deadline { get; } = DateTime.MaxValue;

    public override CancellationToken CancellationToken { get; }

    public override Metadata RequestHeaders
    {
        get
        {
            if (_requestHeaders is null)
            {
                var metadata = new Metadata();
                foreach (var header in _http.Request.Headers)
                {
                    MetadataHeaders.Add(metadata, header.Key, header.Value);
                }

                _requestHeaders = metadata;
            }

            return _requestHeaders;
        }
    }

    public override Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    public override Status Status { get; set; } = Status.DefaultSuccess;

    public override X509Certificate2? ClientCertificate => _http.Connection.ClientCertificate;

    public override IDictionary<object, object?> UserState => _http.Items;

    /// <summary>The request's grpc-encoding (how compressed request messages are encoded).</summary>
    public string? RequestEncoding { get; private set; }

    /// <summary>The encoding response messages are compressed with, or null.</summary>
    public string? ResponseCompression { get; private set; }

    /// <summary>Reads the deadline, picks the response encoding and sets the response headers.</summary>
    public static HttpContextServerCallContext Start(HttpContext httpContext, string method, GrpcServerOptions options, ILogger logger)
    {
        var headers = httpContext.Request.Headers;
        TimeSpan? timeout = GrpcTimeout.TryParse(headers[GrpcProtocol.TimeoutHeader].ToString(), out var t) && t > TimeSpan.Zero ? t : null;
        var call = timeout is { } value
            ? new HttpContextServerCallContext(httpContext, method, options, logger, value)
            : new HttpContextServerCallContext(httpContext, method, options, logger);

        call.RequestEncoding = headers[GrpcProtocol.EncodingHeader].ToString() is { Length: > 0 } encoding ? encoding : null;
        var compression = MessageCompression.Validate(options.ResponseCompression, nameof(options.ResponseCompression));
        if (compression is not null && MessageCompression.IsAccepted(headers[GrpcProtocol.AcceptEncodingHeader].ToString(), compression))
        {
            call.ResponseCompression = compression;
        }

        var response = httpContext.Response;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.AcceptEncodingValue;
        if (call.ResponseCompression is not null)
        {
            response.Headers[GrpcProtocol.EncodingHeader] = call.ResponseCompression;
        }

        call.StartDeadline();
        return call;
    }

    private HttpContextServerCallContext(HttpContext httpContext, string method, GrpcServerOptions options, ILogger logger, TimeSpan timeout)
        : this(httpContext, method, options, logger)
    {
        Deadline = timeout >= DateTime.MaxValue - DateTime.UtcNow ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        _deadlineCts = new CancellationTokenSource();
        _callCts = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, _deadlineCts.Token);
        CancellationToken = _callCts.Token;
        _timeout = timeout;
    }

    public override async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        EnterWrite();
        try
        {
            if (_http.Response.HasStarted)
            {
                throw new InvalidOperationException("Response headers can only be sent once per call, before the first message.");
            }

            foreach (var entry in responseHeaders)
            {
                _http.Response.Headers.Append(entry.Key, MetadataHeaders.ToHeaderValue(entry));
            }

            await _http.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Reads the next request message; null at the end of the request stream.</summary>
    public async ValueTask<TRequest?> ReadMessageAsync<TRequest>(Marshaller<TRequest> marshaller, CancellationToken cancellationToken)
        where TRequest : class
    {
        using var linked = Link(cancellationToken, out var token);
        try
        {
            return await MessageFraming.ReadMessageAsync(
                _http.Request.BodyReader,
                marshaller.ContextualDeserializer,
                RequestEncoding,
                _options.MaxReceiveMessageSize,
                StatusCode.Unimplemented,
                token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RpcException and not OperationCanceledException && token.IsCancellationRequested)
        {
            // Kestrel reports a reset stream as an IOException; the handler sees a cancellation.
            throw new OperationCanceledException("The call was canceled.", ex, token);
        }
    }

    /// <summary>Reads the single request message of a unary or server-streaming call, and the end of the stream after it.</summary>
    public async ValueTask<TRequest> ReadSingleMessageAsync<TRequest>(Marshaller<TRequest> marshaller)
        where TRequest : class
    {
        var request = await ReadMessageAsync(marshaller, default).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.Internal, "The request has no message."));
        if (await ReadMessageAsync(marshaller, default).ConfigureAwait(false) is not null)
        {
            throw new RpcException(new Status(StatusCode.Internal, "The request has more than one message."));
        }

        return request;
    }

    /// <summary>Writes and flushes one response message.</summary>
    public async Task WriteMessageAsync<TResponse>(TResponse message, Marshaller<TResponse> marshaller, CancellationToken cancellationToken)
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(message);
        EnterWrite();
        try
        {
            using var linked = Link(cancellationToken, out var token);
            token.ThrowIfCancellationRequested();
            bool open;
            try
            {
                open = await MessageFraming.WriteMessageAsync(
                    _http.Response.BodyWriter,
                    message,
                    marshaller.ContextualSerializer,
                    ResponseCompression,
                    _options.MaxSendMessageSize,
                    token).ConfigureAwait(false);
            }
            catch (BrokenFrameException ex)
            {
                ServerLog.BrokenFrame(_logger, Method, ex);
                _ended = true;
                Reset(Http2InternalError);
                throw;
            }

            if (!open)
            {
                throw new OperationCanceledException("The client is gone.", CancellationToken);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Ends a call whose handler returned: its status (and trailers), as trailers or Trailers-Only.</summary>
    public Task EndCallAsync() => EndCallAsync(Status, null);

    /// <summary>Ends a call whose handler threw.</summary>
    public Task EndCallAsync(Exception exception)
    {
        Status status;
        Metadata? trailers = null;
        switch (exception)
        {
            case RpcException rpc:
                status = rpc.Status;
                trailers = rpc.Trailers;
                break;
            case Exception when _deadlineReached:
                status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
                break;
            case OperationCanceledException when CancellationToken.IsCancellationRequested:
                status = new Status(StatusCode.Cancelled, "The call was canceled.");
                break;
            default:
                ServerLog.HandlerFailed(_logger, Method, exception);
                var detail = _options.EnableDetailedErrors
                    ? $"Exception was thrown by handler. {exception.GetType().Name}: {exception.Message}"
                    : "Exception was thrown by handler.";
                status = new Status(StatusCode.Unknown, detail, exception);
                break;
        }

        return EndCallAsync(status, trailers);
    }

    public async ValueTask DisposeAsync()
    {
        // Wait for a deadline already firing, so nothing touches the HttpContext after the call.
        await _deadlineRegistration.DisposeAsync().ConfigureAwait(false);
        if (_deadlineTask is not null)
        {
            await _deadlineTask.ConfigureAwait(false);
        }

        _callCts?.Dispose();
        _deadlineCts?.Dispose();
        _writeLock.Dispose();
    }

    /// <summary>
    /// Writes a status as a Trailers-Only response (when nothing has been sent: the status goes in
    /// the one HEADERS frame) or as trailers.
    /// </summary>
    internal static void WriteStatus(HttpResponse response, Status status, Metadata? trailers)
    {
        var code = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture);
        var message = string.IsNullOrEmpty(status.Detail) ? null : PercentEncoding.Encode(status.Detail);
        if (!response.HasStarted)
        {
            var headers = response.Headers;
            if (trailers is not null)
            {
                foreach (var entry in trailers)
                {
                    headers.Append(entry.Key, MetadataHeaders.ToHeaderValue(entry));
                }
            }

            headers[GrpcProtocol.StatusTrailer] = code;
            if (message is not null)
            {
                headers[GrpcProtocol.MessageTrailer] = message;
            }

            return;
        }

        if (trailers is not null)
        {
            foreach (var entry in trailers)
            {
                response.AppendTrailer(entry.Key, MetadataHeaders.ToHeaderValue(entry));
            }
        }

        response.AppendTrailer(GrpcProtocol.StatusTrailer, code);
        if (message is not null)
        {
            response.AppendTrailer(GrpcProtocol.MessageTrailer, message);
        }
    }

    private const int Http2InternalError = 2;

    private async Task EndCallAsync(Status status, Metadata? extraTrailers)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            if (status.StatusCode != StatusCode.OK)
            {
                ServerLog.CallFailed(_logger, Method, status.StatusCode, status.Detail);
            }

            if (_http.RequestAborted.IsCancellationRequested)
            {
                return; // the stream is gone: nobody to send a status to
            }

            if (extraTrailers is { Count: > 0 })
            {
                foreach (var entry in extraTrailers)
                {
                    ResponseTrailers.Add(entry);
                }
            }

            WriteStatus(_http.Response, status, _responseTrailers);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void StartDeadline()
    {
        if (_deadlineCts is null)
        {
            return;
        }

        _deadlineRegistration = _deadlineCts.Token.Register(() =>
        {
            // Mark and claim the end of the call before the handler's token fires: a handler that
            // then throws must not race its own status (CANCELLED) in ahead of DEADLINE_EXCEEDED.
            // Cancelling after that also frees the write lock from a flush blocked on a slow client.
            _deadlineReached = true;
            _deadlineTask = DeadlineExceededAsync();
            _callCts!.Cancel();
        });
        if (_timeout < MaxTimerDelay)
        {
            _deadlineCts.CancelAfter(_timeout);
        }
    }

    /// <summary>
    /// At the deadline: the token has fired (so in-flight reads and flushes give up the write
    /// lock); send DEADLINE_EXCEEDED, complete the response and reset the stream so the client is
    /// released even if the handler ignores its token. The handler still runs to its end.
    /// </summary>
    private async Task DeadlineExceededAsync()
    {
        try
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (_ended)
                {
                    return;
                }

                _ended = true;
                ServerLog.DeadlineExceeded(_logger, Method);
                if (_http.RequestAborted.IsCancellationRequested)
                {
                    return;
                }

                Status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
                WriteStatus(_http.Response, Status, _responseTrailers);
                var body = _http.Features.Get<IHttpResponseBodyFeature>();
                if (body is not null)
                {
                    await body.CompleteAsync().ConfigureAwait(false);
                }

                Reset(GrpcProtocol.Http2NoError);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ServerLog.DeadlineFailed(_logger, Method, ex);
        }
    }

    private void Reset(int http2ErrorCode)
    {
        var reset = _http.Features.Get<IHttpResetFeature>();
        if (reset is not null)
        {
            reset.Reset(http2ErrorCode);
        }
        else
        {
            _http.Abort();
        }
    }

    private void EnterWrite()
    {
        // One write at a time, as in grpc: a second concurrent write is a handler bug.
        if (!_writeLock.Wait(0))
        {
            throw new InvalidOperationException("Can't write: a previous write is still in progress.");
        }

        if (_ended)
        {
            _writeLock.Release();
            if (CancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The call is over.", CancellationToken);
            }

            throw new InvalidOperationException("Can't write: the call is complete.");
        }
    }

    private CancellationTokenSource? Link(CancellationToken extra, out CancellationToken token)
    {
        if (!extra.CanBeCanceled || extra == CancellationToken)
        {
            token = CancellationToken;
            return null;
        }

        var linked = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, extra);
        token = linked.Token;
        return linked;
    }
}
