using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Grpc.Core;
using Grpc.Net.Client;

namespace Ohem.Service.Tests;

/// <summary>The miner host on 127.0.0.1 (a free port), with a channel to it.</summary>
internal sealed class LoopbackMiner : IAsyncDisposable
{
    private LoopbackMiner(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20, MaxSendMessageSize = 64 << 20 });
        Invoker = Channel.CreateCallInvoker();
    }

    public WebApplication App { get; }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    public CallInvoker Invoker { get; }

    public static Task<LoopbackMiner> StartAsync(params (string Key, string? Value)[] settings) => StartAsync(_ => { }, settings);

    /// <param name="configure">Runs after the test's settings (logging, say).</param>
    public static async Task<LoopbackMiner> StartAsync(Action<WebApplicationBuilder> configure, params (string Key, string? Value)[] settings)
    {
        var app = MinerHost.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Miner:Listen"] = "http://127.0.0.1:0",
                ["Miner:MetricsListen"] = "",
                ["Miner:Onnx:IntraOpThreads"] = "1",
            });
            // Later sources win: the test's settings override the defaults above.
            builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
            configure(builder);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackMiner(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
