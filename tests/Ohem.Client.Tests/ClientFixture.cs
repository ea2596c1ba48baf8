using Microsoft.Extensions.DependencyInjection;
using Ohem.Protocol.V1;
using Ohem.Service;
using Ohem.Service.Jobs;
using Ohem.Service.Mining;
using Ohem.Service.Tests;

namespace Ohem.Client.Tests;

/// <summary>The client tests' job on loopback miners: options, registration, expected answers.</summary>
internal static class ClientFixture
{
    public static MinerClientOptions Options(params LoopbackMiner[] miners) => Options([.. miners.Select(m => m.Address.ToString())]);

    /// <summary>Quick retries for loopback, no circuit breaker.</summary>
    public static MinerClientOptions Options(IList<string> endpoints) => new()
    {
        Endpoints = endpoints,
        MaxRetries = 30,
        RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        CircuitMinimumThroughput = 1000, // these tests are about retries, not the breaker
        CallTimeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>Registers job "det" and publishes version 1 (<see cref="Weights"/>); every replica must take both.</summary>
    public static async Task Prepare(MinerClient client)
    {
        var registered = await client.RegisterModelAsync("det", TestJobs.Model());
        Assert.Empty(registered.Failed);
        var published = await client.PublishWeightsAsync("det", 1, Weights());
        Assert.Empty(published.Failed);
    }

    /// <summary>The test job's weights (seed 1) with their shapes, as PublishWeightsAsync takes them.</summary>
    public static Dictionary<string, (float[] Values, long[] Shape)> Weights()
    {
        var shapes = Ohem.Onnx.Scoring.ScoringModel.Load(TestJobs.Model());
        return TestJobs.Weights(1).ToDictionary(kv => kv.Key, kv => (kv.Value, shapes.Weight(kv.Key)!.Shape));
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after 30 s.</summary>
    public static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} within 30 s");
            await Task.Delay(10);
        }
    }

    /// <summary>Installs weights version 2 (version 1's values again, so the expected answers stand) on one miner only.</summary>
    public static void InstallVersion2(LoopbackMiner miner) =>
        miner.App.Services.GetRequiredService<JobRegistry>().Get("det").Weights.Install(2, TestJobs.Weights(1));

    /// <summary>What a healthy miner answers for each batch, computed in-process.</summary>
    public static async Task<Dictionary<ulong, int[][]>> Expected(IEnumerable<MineRequest> requests)
    {
        using var registry = TestJobs.Registry();
        registry.Register("det", TestJobs.Model(), null, false).Weights.Install(1, TestJobs.Weights(1));
        var miner = new BatchMiner(registry, Microsoft.Extensions.Options.Options.Create(new MinerOptions()));
        var expected = new Dictionary<ulong, int[][]>();
        foreach (var request in requests)
        {
            var response = await miner.MineAsync(request, new PolicyCache(), CancellationToken.None);
            expected[request.BatchId] = [.. response.Images.Select(i => i.Indices.ToArray())];
        }

        return expected;
    }
}
