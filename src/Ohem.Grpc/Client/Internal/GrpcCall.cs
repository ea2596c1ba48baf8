using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc.Client;

/// <summary>
/// One client call over one HTTP/2 request. The request is sent with
/// <see cref="HttpMessageInvoker.SendAsync"/>, which returns at the response headers while the
/// request body (our <see cref="HttpContent"/>) is still being written; the response body is
/// read through a <see cref="PipeReader"/>, and the status comes from the trailers once it ends,
/// or from the headers (Trailers-Only). Cancellation, the deadline and local failures all end the
/// call through <see cref="CancelCall"/>: the first status wins, the HTTP/2 stream is reset.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IDisposable
    where TRequest : class
    where TResponse : class
{
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: false);
    private static readonly StreamPipeWriterOptions WriterOptions = new(minimumBufferSize: 64 * 1024, leaveOpen: true);

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _callCts = new();
    private readonly TaskCompletionSource<Status> _status = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DateTime? _deadline;
    private Task<HttpResponseMessage> _responseTask = null!;
    private CancellationTokenRegistration _userCancellation;
    private Timer? _deadlineTimer;
    private HttpResponseMessage? _response;
    private Status? _headerStatus;
    private string? _responseEncoding;
    private PipeReader? _responseReader;
    private TRequest? _unaryRequest;
    private StreamingRequestContent? _requestContent;
    private PipeWriter? _requestWriter;
    private Metadata? _trailers;
    private bool _responseFinished;
    private bool _requestCompleted;
    private int _writing;
    private int _activeReads;
    private bool _unaryResponseReader;

    public GrpcCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            _deadline = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
        }
    }

    private static Status DeadlineStatus => new(StatusCode.DeadlineExceeded, "Deadline Exceeded");

    /// <summary>Starts a call with one request message (unary, server streaming).</summary>
    public void StartUnary(TRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _unaryRequest = request;
        Start(new UnaryRequestContent(WriteUnaryRequestAsync));
    }

    /// <summary>Starts a call with a request stream (client streaming, duplex).</summary>
    public IClientStreamWriter<TRequest> StartClientStreaming()
    {
        _requestContent = new StreamingRequestContent();
        Start(_requestContent);
        return new RequestStreamWriter<TRequest, TResponse>(this);
    }

    public Status GetStatus() =>
        _status.Task.IsCompleted ? _status.Task.Result : throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    public Metadata GetTrailers() =>
        _status.Task.IsCompleted ? _trailers ?? [] : throw new InvalidOperationException("Unable to get the trailers because the call is not complete.");

    public async Task<Metadata> GetResponseHeadersAsync()
    {
        var response = await _responseTask.ConfigureAwait(false);
        return ToMetadata(response.Headers);
    }

    /// <summary>The one response of a unary or client-streaming call, then the status.</summary>
    public async Task<TResponse> GetUnaryResponseAsync()
    {
        _unaryResponseReader = true;
        var message = await ReadNextAsync(default).ConfigureAwait(false);
        if (message is not null && await ReadNextAsync(default).ConfigureAwait(false) is not null)
        {
            throw Fail(new RpcException(new Status(StatusCode.Internal, "The response has more than one message.")));
        }

        FinishResponse(message is null ? new Status(StatusCode.Internal, "The server ended the call with OK but sent no response message.") : null);
        return message!;
    }

    /// <summary>The next response message, or null when the response body has ended (then call <see cref="FinishResponse"/>).</summary>
    public async Task<TResponse?> ReadNextAsync(CancellationToken cancellationToken)
    {
        var response = await _responseTask.ConfigureAwait(false);
        if (_status.Task.IsCompleted)
        {
            return _status.Task.Result.StatusCode == StatusCode.OK ? null : throw CallOverException();
        }

        if (_headerStatus is not null)
        {
            return null;
        }

        using var registration = RegisterCancellation(cancellationToken);
        Interlocked.Increment(ref _activeReads);
        try
        {
            _responseReader ??= PipeReader.Create(await response.Content.ReadAsStreamAsync(_callCts.Token).ConfigureAwait(false), ReaderOptions);
            return await MessageFraming.ReadMessageAsync(
                _responseReader,
                _method.ResponseMarshaller.ContextualDeserializer,
                _responseEncoding,
                _channel.MaxReceiveMessageSize,
                StatusCode.Internal,
                _callCts.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
        finally
        {
            Interlocked.Decrement(ref _activeReads);
        }
    }

    /// <summary>
    /// The response body has ended: take the status from the trailers (or the Trailers-Only
    /// headers) and end the call; throws <see cref="RpcException"/> unless it is OK.
    /// <paramref name="statusIfOk"/> replaces an OK that the caller knows is wrong.
    /// </summary>
    public void FinishResponse(Status? statusIfOk)
    {
        if (!_responseFinished && _response is { } response && !_status.Task.IsCompleted)
        {
            _responseFinished = true;
            Status status;
            if (_headerStatus is { } headerStatus)
            {
                status = headerStatus;
                _trailers = ToMetadata(response.Headers);
            }
            else
            {
                status = ClientStatus.FromHeaders(response.TrailingHeaders)
                    ?? new Status(StatusCode.Unknown, "No grpc-status found on response.");
                _trailers = ToMetadata(response.TrailingHeaders);
            }

            if (status.StatusCode == StatusCode.OK && statusIfOk is { } replacement)
            {
                status = replacement;
            }

            if (_status.TrySetResult(status))
            {
                _responseReader?.Complete();
                Cleanup();
            }
        }

        if (_status.Task.Result.StatusCode != StatusCode.OK)
        {
            throw CallOverException();
        }
    }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_status.Task.IsCompleted)
        {
            throw CallOverException();
        }

        if (_requestCompleted)
        {
            throw new InvalidOperationException("Can't write the message because the request stream is complete.");
        }

        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            throw new InvalidOperationException("Can't write the message because the previous write is in progress.");
        }

        try
        {
            using var registration = RegisterCancellation(cancellationToken);
            var stream = await _requestContent!.StreamTask.WaitAsync(_callCts.Token).ConfigureAwait(false);
            _requestWriter ??= PipeWriter.Create(stream, WriterOptions);
            if (!await MessageFraming.WriteMessageAsync(
                    _requestWriter, message, _method.RequestMarshaller.ContextualSerializer, _channel.RequestCompression, _channel.MaxSendMessageSize, _callCts.Token)
                .ConfigureAwait(false))
            {
                throw new IOException("The request stream is closed.");
            }
        }
        catch (Exception ex)
        {
            throw await RequestFailureAsync(ex).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <summary>Half-closes the request stream: the server sees its end.</summary>
    public async Task CompleteRequestAsync()
    {
        if (_status.Task.IsCompleted)
        {
            if (_status.Task.Result.StatusCode != StatusCode.OK)
            {
                throw CallOverException();
            }

            return;
        }

        if (Volatile.Read(ref _writing) == 1)
        {
            throw new InvalidOperationException("Can't complete the request stream because a write is in progress.");
        }

        if (_requestCompleted)
        {
            return;
        }

        _requestCompleted = true;
        try
        {
            if (_requestWriter is not null)
            {
                await _requestWriter.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            throw await RequestFailureAsync(ex).ConfigureAwait(false);
        }

        _requestContent!.Complete();
    }

    /// <summary>Cancels the call unless it has finished, and releases it.</summary>
    public void Dispose() => CancelCall(new Status(StatusCode.Cancelled, "gRPC call disposed."));

    /// <summary>Ends the call locally with <paramref name="status"/> (first status wins) and resets the HTTP/2 stream.</summary>
    private void CancelCall(Status status)
    {
        if (!_status.TrySetResult(status))
        {
            return;
        }

        // Cancelling the token aborts SendAsync and pending body reads/writes: SocketsHttpHandler
        // then resets the stream (RST_STREAM CANCEL), which the server sees as a cancellation.
        _callCts.Cancel();
        Cleanup();
    }

    private void Cleanup()
    {
        _requestContent?.Abort();
        _userCancellation.Dispose();
        _deadlineTimer?.Dispose();
        _response?.Dispose();
    }

    /// <summary>Ends the call for a local failure and returns what to throw.</summary>
    private Exception Fail(Exception exception)
    {
        var status = _deadline is { } deadline && DateTime.UtcNow >= deadline
            ? DeadlineStatus
            : ClientStatus.FromException(exception);
        CancelCall(status);
        return CallOverException();
    }

    /// <summary>
    /// What a failed request write throws. Our own failures (a message over the limit, a broken
    /// serializer) end the call with their status. A transport failure on the request side is
    /// usually the server ending the call while we still send (it then resets the request side
    /// with NO_ERROR, and HttpClient cancels the body): the response holds the real status, so
    /// when something is reading the response we wait for it rather than guess CANCELLED.
    /// </summary>
    private async Task<Exception> RequestFailureAsync(Exception exception)
    {
        if (exception is RpcException or BrokenFrameException || _callCts.IsCancellationRequested || _status.Task.IsCompleted)
        {
            return Fail(exception);
        }

        if (_unaryResponseReader || Volatile.Read(ref _activeReads) > 0)
        {
            await _status.Task.ConfigureAwait(false);
            return CallOverException();
        }

        // Nobody reads the response yet: the call goes on, and its status will come from reading it.
        var status = ClientStatus.FromException(exception);
        return new RpcException(new Status(status.StatusCode, "The request stream is closed; read the response for the call's status. " + status.Detail, status.DebugException));
    }

    /// <summary>What a read or write of a finished call throws: its status, or (when it ended OK) that it is over.</summary>
    private Exception CallOverException()
    {
        var status = _status.Task.Result;
        return status.StatusCode == StatusCode.OK
            ? new InvalidOperationException("The call is complete.")
            : new RpcException(status, _trailers ?? []);
    }

    private void Start(HttpContent content)
    {
        TimeSpan? timeout = null;
        if (_deadline is { } deadline)
        {
            timeout = deadline - DateTime.UtcNow;
            if (timeout <= TimeSpan.Zero)
            {
                // Already past: fail without sending anything.
                content.Dispose();
                CancelCall(DeadlineStatus);
                _responseTask = Task.FromException<HttpResponseMessage>(CallOverException());
                return;
            }
        }

        var request = CreateRequest(content, timeout);
        if (timeout is { } delay)
        {
            _deadlineTimer = new Timer(static state => ((GrpcCall<TRequest, TResponse>)state!).CancelCall(DeadlineStatus), this, Timeout.Infinite, Timeout.Infinite);
            if (delay < MaxTimerDelay)
            {
                _deadlineTimer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }

        if (_options.CancellationToken.CanBeCanceled)
        {
            _userCancellation = RegisterCancellation(_options.CancellationToken);
        }

        _responseTask = SendAsync(request);
    }

    private CancellationTokenRegistration RegisterCancellation(CancellationToken token) =>
        token.CanBeCanceled
            ? token.UnsafeRegister(static state => ((GrpcCall<TRequest, TResponse>)state!).CancelCall(new Status(StatusCode.Cancelled, "Call canceled by the client.")), this)
            : default;

    private HttpRequestMessage CreateRequest(HttpContent content, TimeSpan? timeout)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _channel.GetRequestUri(_method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TE.Add(new TransferCodingWithQualityHeaderValue(GrpcProtocol.TeTrailers));
        if (timeout is { } value)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(value));
        }

        if (_channel.RequestCompression is { } compression)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, compression);
        }

        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.AcceptEncodingValue);
        var userAgentSet = false;
        foreach (var entry in _options.Headers ?? [])
        {
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                throw new InvalidOperationException($"Metadata key '{entry.Key}' is reserved for the gRPC protocol: it cannot be sent as call metadata.");
            }

            userAgentSet |= entry.Key == "user-agent";
            headers.TryAddWithoutValidation(entry.Key, MetadataHeaders.ToHeaderValue(entry));
        }

        if (!userAgentSet)
        {
            headers.TryAddWithoutValidation("user-agent", GrpcProtocol.UserAgent);
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        HttpResponseMessage response;
        try
        {
            response = await _channel.Invoker.SendAsync(request, _callCts.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }

        _response = response;
        if (_status.Task.IsCompleted)
        {
            response.Dispose();
            throw CallOverException();
        }

        _headerStatus = ValidateHeaders(response);
        if (_headerStatus is null && response.Headers.TryGetValues(GrpcProtocol.EncodingHeader, out var encodings))
        {
            _responseEncoding = encodings.FirstOrDefault();
        }

        return response;
    }

    /// <summary>Null for a gRPC response with a body to read; else the status the headers already decide.</summary>
    private static Status? ValidateHeaders(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return ClientStatus.FromHeaders(response.Headers) ?? ClientStatus.FromHttpStatus(response.StatusCode);
        }

        if (ClientStatus.FromHeaders(response.Headers) is { } trailersOnly)
        {
            return trailersOnly;
        }

        var contentType = response.Content.Headers.TryGetValues("content-type", out var values) ? values.FirstOrDefault() : null;
        return GrpcProtocol.IsGrpcContentType(contentType)
            ? null
            : new Status(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: '{contentType}'.");
    }

    private async Task WriteUnaryRequestAsync(Stream stream, CancellationToken cancellationToken)
    {
        var writer = PipeWriter.Create(stream, WriterOptions);
        try
        {
            await MessageFraming.WriteMessageAsync(
                writer, _unaryRequest!, _method.RequestMarshaller.ContextualSerializer, _channel.RequestCompression, _channel.MaxSendMessageSize, cancellationToken)
                .ConfigureAwait(false);
            await writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or BrokenFrameException)
        {
            throw Fail(ex);
        }

        // Other failures are HttpClient's to report: it fails SendAsync if the response has not
        // come, and ignores them if the server already answered (and reset the request side).
    }

    private static Metadata ToMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers)
        {
            MetadataHeaders.Add(metadata, header.Key, header.Value);
        }

        return metadata;
    }
}
