using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ohem.Grpc.Tests.Support;

/// <summary>A real Kestrel server on 127.0.0.1, an OS-chosen port, HTTP/2 only (cleartext needs that), with our gRPC endpoints.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public IServiceProvider Services => _app.Services;

    public static Task<TestServer> StartAsync(ServerServiceDefinition definition, GrpcServerOptions? options = null) =>
        StartAsync(endpoints => endpoints.MapGrpcService(definition, options));

    public static async Task<TestServer> StartAsync(
        Action<IEndpointRouteBuilder> map, Action<ListenOptions>? listen = null, Action<IServiceCollection>? services = null, Action<IWebHostBuilder>? host = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        host?.Invoke(builder.WebHost);
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, endpoint =>
        {
            endpoint.Protocols = HttpProtocols.Http2;
            listen?.Invoke(endpoint);
        }));
        var app = builder.Build();
        map(app);
        await app.StartAsync().Within();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new TestServer(app, new Uri(address));
    }

    public GrpcChannel CreateChannel(GrpcChannelOptions? options = null) => GrpcChannel.ForAddress(Address, options);

    public ValueTask DisposeAsync() => StopAsync(TimeSpan.FromSeconds(5));

    /// <summary>Stops gracefully, waiting at most <paramref name="grace"/> for calls in flight before dropping connections.</summary>
    public async ValueTask StopAsync(TimeSpan grace)
    {
        using var stop = new CancellationTokenSource(grace);
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
