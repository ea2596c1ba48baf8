namespace Ohem.Grpc.Client;

/// <summary>The call invoker over a <see cref="GrpcChannel"/>: each call is one HTTP/2 request.</summary>
internal sealed class HttpClientCallInvoker(GrpcChannel channel) : CallInvoker
{
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new GrpcCall<TRequest, TResponse>(channel, method, options);
        call.StartUnary(request);
        return new AsyncUnaryCall<TResponse>(Observed(call.GetUnaryResponseAsync()), Observed(call.GetResponseHeadersAsync()), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = new GrpcCall<TRequest, TResponse>(channel, method, options);
        var writer = call.StartClientStreaming();
        return new AsyncClientStreamingCall<TRequest, TResponse>(
            writer, Observed(call.GetUnaryResponseAsync()), Observed(call.GetResponseHeadersAsync()), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new GrpcCall<TRequest, TResponse>(channel, method, options);
        call.StartUnary(request);
        return new AsyncServerStreamingCall<TResponse>(
            new ResponseStreamReader<TRequest, TResponse>(call), Observed(call.GetResponseHeadersAsync()), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = new GrpcCall<TRequest, TResponse>(channel, method, options);
        var writer = call.StartClientStreaming();
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(
            writer, new ResponseStreamReader<TRequest, TResponse>(call), Observed(call.GetResponseHeadersAsync()), call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>
    /// A call's tasks start eagerly and may fail without the caller ever awaiting them (say, only
    /// the response stream is read): mark their exceptions observed so they never surface as
    /// unobserved task exceptions. The caller still sees them when it awaits.
    /// </summary>
    private static Task<T> Observed<T>(Task<T> task)
    {
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }
}
