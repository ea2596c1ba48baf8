using Google.Protobuf;
using Grpc.Core;
using Ohem.Protocol.V1;

namespace Ohem.Service.Tests;

public class MineStreamTests
{
    /// <summary>The bound on every wait for something that should happen: generous for a loaded machine.</summary>
    private static readonly TimeSpan Eventually = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <see cref="Eventually"/>.</summary>
    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Eventually;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} within {Eventually}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Mine_stream_answers_headers_as_soon_as_the_request_arrives()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).RegisterModelAsync(new RegisterModelRequest { JobId = "det", OnnxModel = ByteString.CopyFrom(TestJobs.Model()) });
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Jobs.JobRegistry>(miner.App.Services).Get("det").Weights.Install(1, TestJobs.Weights(1));
        using var call = new HardExampleMiner.HardExampleMinerClient(miner.Invoker).Mine();
        await call.RequestStream.WriteAsync(TestJobs.Request("det", 1, seed: 1));
        await call.ResponseHeadersAsync.WaitAsync(Eventually);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Eventually));
        Assert.Equal(1ul, call.ResponseStream.Current.BatchId);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Eventually));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Big_feature_maps_are_mined_from_pooled_buffers_and_every_buffer_comes_back()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        var services = miner.App.Services;
        await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).RegisterModelAsync(new RegisterModelRequest { JobId = "det", OnnxModel = ByteString.CopyFrom(TestJobs.Model()) });
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Jobs.JobRegistry>(services).Get("det").Weights.Install(1, TestJobs.Weights(1));
        var pool = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Mining.FeatureBufferPool>(services);

        // [2, 2, 96, 96] float32 features: 73,728 bytes each, above the pooling threshold; float16 too.
        var requests = Enumerable.Range(0, 6).Select(i => TestJobs.Request("det", (ulong)i, seed: 20 + i, height: 96, width: 96,
            dtype: i % 3 == 2 ? DataType.Float16 : DataType.Float32)).ToArray();
        Assert.All(requests.Where(r => r.Features.Dtype == DataType.Float32), r => Assert.True(r.Features.Data.Length >= pool.MinimumBytes));
        using var call = new HardExampleMiner.HardExampleMinerClient(miner.Invoker).Mine();
        var writing = Task.Run(async () =>
        {
            foreach (var request in requests)
            {
                await call.RequestStream.WriteAsync(request);
            }

            await call.RequestStream.CompleteAsync();
        });
        var answers = new List<MineResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            answers.Add(call.ResponseStream.Current);
        }

        await writing;
        Assert.Equal(0, pool.Outstanding);

        // The same batches mined in-process (their own arrays) select the same RoIs with the same losses.
        using var registry = TestJobs.Registry();
        registry.Register("det", TestJobs.Model(), null, false).Weights.Install(1, TestJobs.Weights(1));
        var inProcess = new Mining.BatchMiner(registry, Microsoft.Extensions.Options.Options.Create(new MinerOptions()));
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Null(answers[i].Error);
            var expected = await inProcess.MineAsync(requests[i], new Mining.PolicyCache(), CancellationToken.None);
            Assert.Equal(expected.Images.Select(x => x.Indices.ToArray()), answers[i].Images.Select(x => x.Indices.ToArray()));
            Assert.Equal(expected.Images.Select(x => x.Losses.ToArray()), answers[i].Images.Select(x => x.Losses.ToArray()));
        }
    }

    [Fact]
    public async Task Batches_in_flight_stay_within_the_bound_and_none_is_lost_when_the_version_arrives()
    {
        // Two batches in flight at most, one per stream: the rest wait in the client and the
        // transport (flow control), not in the server.
        // The batches wait for the version the test installs: longer than the test could ever take.
        await using var miner = await LoopbackMiner.StartAsync(
            ("Miner:MaxBatchesInFlight", "2"), ("Miner:MaxBatchesPerStream", "1"), ("Miner:VersionWait", "00:05:00"));
        await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).RegisterModelAsync(new RegisterModelRequest { JobId = "det", OnnxModel = ByteString.CopyFrom(TestJobs.Model()) });
        var limit = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Api.InFlightLimit>(miner.App.Services);

        // Two streams, six batches each, all waiting for weights version 1.
        var streams = Enumerable.Range(0, 2).Select(s => Task.Run(async () =>
        {
            using var call = new HardExampleMiner.HardExampleMinerClient(miner.Invoker).Mine();
            var writing = Task.Run(async () =>
            {
                for (var i = 0; i < 6; i++)
                {
                    var request = TestJobs.Request("det", (ulong)(10 * s + i), seed: i);
                    request.MinWeightsVersion = 1;
                    await call.RequestStream.WriteAsync(request);
                }

                await call.RequestStream.CompleteAsync();
            });
            var ids = new List<ulong>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                Assert.Null(call.ResponseStream.Current.Error);
                ids.Add(call.ResponseStream.Current.BatchId);
            }

            await writing;
            return ids;
        })).ToArray();

        // Both slots get taken while the batches wait (however long the streams take to start),
        // and never more: checked at every poll until then and for a while after.
        var peak = 0;
        await WaitUntil(() => (peak = Math.Max(peak, limit.InUse)) >= 2, "both slots taken");
        for (var t = 0; t < 40; t++)
        {
            await Task.Delay(25);
            peak = Math.Max(peak, limit.InUse);
        }

        Assert.Equal(2, peak);
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Jobs.JobRegistry>(miner.App.Services)
            .Get("det").Weights.Install(1, TestJobs.Weights(1));
        var answered = await Task.WhenAll(streams).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (ulong)i), answered[0]);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (ulong)(10 + i)), answered[1]);
        Assert.True(limit.InUse <= 2);
    }

    [Fact]
    public async Task On_shutdown_a_stream_answers_what_it_read_then_ends_unavailable()
    {
        var miner = await LoopbackMiner.StartAsync(("Miner:MaxBatchesPerStream", "2"));
        try
        {
            await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).RegisterModelAsync(new RegisterModelRequest { JobId = "det", OnnxModel = ByteString.CopyFrom(TestJobs.Model()) });
            var services = miner.App.Services;
            var limit = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Api.InFlightLimit>(services);
            using var call = new HardExampleMiner.HardExampleMinerClient(miner.Invoker).Mine();
            for (var i = 0; i < 3; i++)
            {
                var request = TestJobs.Request("det", (ulong)i, seed: i);
                request.MinWeightsVersion = 1; // held until the version arrives
                await call.RequestStream.WriteAsync(request);
            }

            await WaitUntil(() => limit.InUse > 0, "the miner read a batch");
            var stopping = miner.App.StopAsync(); // stops reading; the batches read are drained
            await WaitUntil(() => miner.App.Lifetime.ApplicationStopping.IsCancellationRequested, "the miner began stopping");
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Jobs.JobRegistry>(services)
                .Get("det").Weights.Install(1, TestJobs.Weights(1));

            var answered = new List<ulong>();
            var ended = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)))
                {
                    Assert.Null(call.ResponseStream.Current.Error);
                    answered.Add(call.ResponseStream.Current.BatchId);
                }
            });
            Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
            Assert.NotEmpty(answered);
            Assert.Equal(Enumerable.Range(0, answered.Count).Select(i => (ulong)i), answered); // a prefix, in order
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await miner.DisposeAsync();
        }
    }
}
