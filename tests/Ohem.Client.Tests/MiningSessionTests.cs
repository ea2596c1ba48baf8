using Microsoft.Extensions.DependencyInjection;
using Ohem.Service.Api;
using Ohem.Service.Tests;
using Ohem.Testing;
using static Ohem.Client.Tests.ClientFixture;

namespace Ohem.Client.Tests;

/// <summary>The client against real miners on loopback: failover, restarts, exactly-once answers.</summary>
public class MiningSessionTests
{
    [Fact]
    public async Task When_the_current_miner_stops_unanswered_batches_go_to_the_next_and_each_is_answered_once()
    {
        var minerOne = await LoopbackMiner.StartAsync();
        var minerTwo = await LoopbackMiner.StartAsync();
        using var client = new MinerClient(Options(minerOne, minerTwo));
        await Prepare(client);
        var requests = Enumerable.Range(0, 24).Select(i => TestJobs.Request("det", (ulong)(100 + i), seed: i)).ToArray();
        var expected = await Expected(requests);

        // A is the replica the session's stream went to (the client starts its streams on a random one), B the other.
        await using var session = client.OpenMiningSession();
        var first = await session.MineAsync(requests[0]);
        var (a, b) = session.Endpoint == minerOne.Address.ToString() ? (minerOne, minerTwo) : (minerTwo, minerOne);
        await using var _ = b;

        // Every batch after the first needs weights version 2, which only B holds so far: A reads
        // some of them but answers none until the test installs it, so however fast the machine,
        // batches are still unanswered when A stops.
        foreach (var request in requests.Skip(1))
        {
            request.MinWeightsVersion = 2;
        }

        InstallVersion2(b);
        Assert.Equal(a.Address.ToString(), session.Endpoint);
        var rest = requests.Skip(1).Select(r => session.MineAsync(r)).ToArray(); // all in flight
        var inFlight = a.App.Services.GetRequiredService<InFlightLimit>();
        await WaitUntil(() => inFlight.InUse > 0, "miner A read a batch");

        // Miner A goes away with batches unanswered: it stops reading, answers what it has read
        // (once the version arrives), and ends the stream; the rest must go to B.
        var stopping = a.App.StopAsync();
        await WaitUntil(() => a.App.Lifetime.ApplicationStopping.IsCancellationRequested, "miner A began stopping");
        InstallVersion2(a);
        await stopping;
        await a.DisposeAsync();
        var responses = new[] { first }.Concat(await Task.WhenAll(rest)).ToArray();

        Assert.Equal(requests.Select(r => r.BatchId), responses.Select(r => r.BatchId));
        foreach (var response in responses)
        {
            Assert.Null(response.Error);
            Assert.Equal(expected[response.BatchId], response.Images.Select(i => i.Indices.ToArray()));
        }

        Assert.True(session.StreamsOpened >= 2, "the session never reconnected");
        Assert.Equal(b.Address.ToString(), session.Endpoint);
    }

    [Fact]
    public async Task A_miner_killed_and_restarted_under_a_streaming_client_loses_and_duplicates_nothing()
    {
        // The restarted miner comes back at the same address: the port stays reserved meanwhile, so
        // no other server (other tests run in parallel) can take it.
        using var port = ReservedPort.Reserve();
        var miner = await LoopbackMiner.StartAsync(("Miner:Listen", port.Http.ToString()));
        using var client = new MinerClient(Options(miner));
        await Prepare(client);
        var requests = Enumerable.Range(0, 12).Select(i => TestJobs.Request("det", (ulong)i, seed: 50 + i)).ToArray();
        var expected = await Expected(requests);
        await using var session = client.OpenMiningSession();

        var early = await Task.WhenAll(requests.Take(3).Select(r => session.MineAsync(r)));
        var late = requests.Skip(3).Select(r => session.MineAsync(r)).ToArray();
        await miner.DisposeAsync();
        await using var restarted = await LoopbackMiner.StartAsync(("Miner:Listen", port.Http.ToString()));
        await Prepare(client); // a new process knows no jobs: the trainer registers and publishes again
        var responses = early.Concat(await Task.WhenAll(late)).ToArray();

        Assert.Equal(requests.Select(r => r.BatchId), responses.Select(r => r.BatchId));
        Assert.Equal(requests.Length, responses.Select(r => r.BatchId).Distinct().Count());
        foreach (var response in responses)
        {
            // A batch resent before the job was registered again gets NOT_FOUND: the trainer's cue.
            if (response.Error is { } error)
            {
                Assert.Equal(5, error.Code);
                continue;
            }

            Assert.Equal(expected[response.BatchId], response.Images.Select(i => i.Indices.ToArray()));
        }

        var again = await session.MineAsync(TestJobs.Request("det", 99, seed: 7));
        Assert.Null(again.Error);
    }

    [Fact]
    public async Task With_every_miner_down_unanswered_batches_fail_with_miner_unavailable()
    {
        var miner = await LoopbackMiner.StartAsync();
        var options = Options(miner);
        options.MaxRetries = 2;
        using var client = new MinerClient(options);
        await Prepare(client);
        await miner.DisposeAsync();
        await using var session = client.OpenMiningSession();
        await Assert.ThrowsAsync<MinerUnavailableException>(() => session.MineAsync(TestJobs.Request("det", 1, seed: 1)));
    }

    [Fact]
    public async Task Weights_are_published_in_chunks_to_every_replica()
    {
        await using var a = await LoopbackMiner.StartAsync();
        await using var b = await LoopbackMiner.StartAsync();
        var options = Options(a, b);
        options.PublishChunkBytes = 64; // 16 floats a message: every tensor in several chunks
        using var client = new MinerClient(options);
        await Prepare(client);
        foreach (var miner in new[] { a, b })
        {
            using var single = new MinerClient(Options(miner));
            var status = await single.GetStatusAsync("det");
            Assert.Equal([1ul], status.Jobs.Single().Versions.Select(v => v.Version));
        }

        await using var session = client.OpenMiningSession();
        var request = TestJobs.Request("det", 5, seed: 3);
        var response = await session.MineAsync(request);
        Assert.Equal((await Expected([request]))[5], response.Images.Select(i => i.Indices.ToArray()));
    }
}
