using Ohem.Grpc.Client;
using Ohem.Grpc.Internal;

namespace Ohem.Grpc;

/// <summary>
/// A connection target for calls: an http:// (cleartext HTTP/2, prior knowledge) or https://
/// (TLS, ALPN h2) address and the HTTP handler that carries the calls. Thread-safe; one channel
/// multiplexes many concurrent calls over its HTTP/2 connections.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly bool _disposeHandler;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"Address '{address}' must be http:// or https://.", nameof(address));
        }

        Address = address;
        MaxReceiveMessageSize = options.MaxReceiveMessageSize;
        MaxSendMessageSize = options.MaxSendMessageSize;
        RequestCompression = MessageCompression.Validate(options.RequestCompression, nameof(options.RequestCompression));

        HttpMessageHandler handler;
        if (options.HttpHandler is { } given)
        {
            if (options.ClientCertificates is not null || options.ServerCertificateValidation is not null)
            {
                throw new ArgumentException("ClientCertificates and ServerCertificateValidation apply only when the channel creates its handler; configure the given HttpHandler instead.", nameof(options));
            }

            handler = given;
            _disposeHandler = options.DisposeHttpHandler;
        }
        else
        {
            handler = CreateHandler(options);
            _disposeHandler = true;
        }

        Invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        Handler = handler;
    }

    public Uri Address { get; }

    internal HttpMessageInvoker Invoker { get; }

    internal int? MaxReceiveMessageSize { get; }

    internal int? MaxSendMessageSize { get; }

    internal string? RequestCompression { get; }

    private HttpMessageHandler Handler { get; }

    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null) =>
        ForAddress(new Uri(address ?? throw new ArgumentNullException(nameof(address))), options);

    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new GrpcChannel(address, options ?? new GrpcChannelOptions());
    }

    public CallInvoker CreateCallInvoker() => new HttpClientCallInvoker(this);

    public void Dispose()
    {
        Invoker.Dispose();
        if (_disposeHandler)
        {
            Handler.Dispose();
        }
    }

    internal Uri GetRequestUri(string methodFullName) => new(Address, methodFullName);

    private static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // Kestrel allows 100 streams per connection: open more connections rather than queue calls.
            EnableMultipleHttp2Connections = true,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        if (options.ClientCertificates is not null)
        {
            handler.SslOptions.ClientCertificates = options.ClientCertificates;
        }

        if (options.ServerCertificateValidation is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = options.ServerCertificateValidation;
        }

        return handler;
    }
}
