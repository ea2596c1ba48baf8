using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ohem.Bench;

/// <summary>The miner service in the benchmark's process on a free loopback port, quiet; dispose stops it.</summary>
internal sealed class BenchMiner : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BenchMiner(WebApplication app)
    {
        _app = app;
        Address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    /// <summary>Where trainers reach it (http://127.0.0.1:port).</summary>
    public string Address { get; }

    /// <param name="threads">ONNX Runtime's intra-op threads for scoring.</param>
    public static async Task<BenchMiner> StartAsync(int threads)
    {
        var app = Service.MinerHost.Build([], b =>
        {
            b.Configuration["Miner:Listen"] = "http://127.0.0.1:0";
            b.Configuration["Miner:MetricsListen"] = "";
            b.Configuration["Miner:Onnx:IntraOpThreads"] = threads.ToString(CultureInfo.InvariantCulture);
            b.Logging.ClearProviders();
        });
        await app.StartAsync();
        return new BenchMiner(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
