using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Ohem.Protocol.V1;
using Ohem.Service.Api;
using Ohem.Service.Tests;
using Ohem.Testing;
using static Ohem.Client.Tests.ClientFixture;

namespace Ohem.Client.Tests;

/// <summary>Replicas behind one name, as a Kubernetes headless Service gives them: writes reach all, streams spread, replicas come and go.</summary>
public class ReplicaTests
{
    private static MinerClientOptions Named(NamedReplicas name)
    {
        var options = Options([NamedReplicas.Endpoint]);
        options.Resolver = name;
        return options;
    }

    /// <summary>Job "det" as one miner holds it.</summary>
    private static async Task<JobStatus> Job(LoopbackMiner miner) =>
        (await new HardExampleMiner.HardExampleMinerClient(miner.Channel).GetStatusAsync(new GetStatusRequest { JobId = "det" })).Jobs.Single();

    private static async Task AssertMined(MiningSession session, MineRequest request, Dictionary<ulong, int[][]> expected)
    {
        var response = await session.MineAsync(request);
        Assert.Null(response.Error);
        Assert.Equal(expected[request.BatchId], response.Images.Select(i => i.Indices.ToArray()));
    }

    [Fact]
    public async Task Replicas_behind_one_name_all_take_the_writes_and_one_that_appears_mid_run_takes_them_before_it_mines()
    {
        await using var a = await LoopbackMiner.StartAsync();
        await using var b = await LoopbackMiner.StartAsync();
        var name = new NamedReplicas(a.Address, b.Address);
        using var client = new MinerClient(Named(name));
        await Prepare(client); // asserts that no replica failed
        foreach (var miner in new[] { a, b })
        {
            Assert.Equal([1ul], (await Job(miner)).Versions.Select(v => v.Version));
        }

        // Mine streams spread: two sessions' streams go to the two replicas, and both mine.
        var requests = Enumerable.Range(0, 5).Select(i => TestJobs.Request("det", (ulong)i, seed: i)).ToArray();
        var expected = await Expected(requests);
        await using var first = client.OpenMiningSession();
        await using var second = client.OpenMiningSession();
        await AssertMined(first, requests[0], expected);
        await AssertMined(second, requests[1], expected);
        Assert.Equal(new[] { a, b }.Select(m => m.Address.ToString()).Order(), new[] { first.Endpoint, second.Endpoint }.Order());
        Assert.Equal(new[] { 1ul, 1ul }, new[] { (await Job(a)).BatchesMined, (await Job(b)).BatchesMined });

        // A third replica appears mid-run: it holds the job's model and newest weights before any stream reaches it.
        await using var c = await LoopbackMiner.StartAsync();
        name.Set(a.Address, b.Address, c.Address);
        await WaitUntil(() => client.Replicas.Current.Any(r => r.Address == c.Address.ToString() && r.Joined), "the third replica joined");
        var joined = await Job(c);
        Assert.Equal([1ul], joined.Versions.Select(v => v.Version));
        Assert.Equal(0ul, joined.BatchesMined);

        // New streams go to the replicas in turn, so one of the next three reaches it; it answers like the others.
        var sessions = new List<MiningSession>();
        try
        {
            for (var i = 0; i < 3 && (await Job(c)).BatchesMined == 0; i++)
            {
                sessions.Add(client.OpenMiningSession());
                await AssertMined(sessions[^1], requests[2 + i], expected);
            }
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }
        }

        Assert.Equal(1ul, (await Job(c)).BatchesMined);

        // And it takes the next version with the others.
        Assert.Empty((await client.PublishWeightsAsync("det", 2, Weights())).Failed);
        foreach (var miner in new[] { a, b, c })
        {
            Assert.Equal([1ul, 2ul], (await Job(miner)).Versions.Select(v => v.Version));
        }
    }

    [Fact]
    public async Task A_replica_gone_from_the_name_is_dropped_and_its_unanswered_batches_are_answered_once_by_another()
    {
        await using var one = await LoopbackMiner.StartAsync();
        await using var two = await LoopbackMiner.StartAsync();
        var name = new NamedReplicas(one.Address, two.Address);
        using var client = new MinerClient(Named(name));
        await Prepare(client);
        var requests = Enumerable.Range(0, 12).Select(i => TestJobs.Request("det", (ulong)(100 + i), seed: i)).ToArray();
        var expected = await Expected(requests);
        await using var session = client.OpenMiningSession();
        var first = await session.MineAsync(requests[0]);
        var (gone, kept) = session.Endpoint == one.Address.ToString() ? (one, two) : (two, one);

        // The batches after the first need version 2, which only the replica that stays holds: the
        // one leaving reads some and answers none, so batches are unanswered when it leaves.
        foreach (var request in requests.Skip(1))
        {
            request.MinWeightsVersion = 2;
        }

        InstallVersion2(kept);
        var rest = requests.Skip(1).Select(r => session.MineAsync(r)).ToArray();
        var inFlight = gone.App.Services.GetRequiredService<InFlightLimit>();
        await WaitUntil(() => inFlight.InUse > 0, "the replica leaving read a batch");
        name.Set(kept.Address); // it leaves the name, still running
        var responses = new[] { first }.Concat(await Task.WhenAll(rest)).ToArray();

        Assert.Equal(requests.Select(r => r.BatchId), responses.Select(r => r.BatchId));
        foreach (var response in responses)
        {
            Assert.Null(response.Error);
            Assert.Equal(expected[response.BatchId], response.Images.Select(i => i.Indices.ToArray()));
        }

        Assert.Equal([kept.Address.ToString()], client.Replicas.Current.Select(r => r.Address));
        Assert.Equal(kept.Address.ToString(), session.Endpoint);
        Assert.Equal((ulong)(requests.Length - 1), (await Job(kept)).BatchesMined); // each resent batch mined there once
    }

    [Fact]
    public async Task A_registration_succeeds_when_one_replica_takes_it_and_one_that_holds_the_job_counts()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        using var dead = ReservedPort.Reserve(); // nothing listens there, nor can while the test runs
        var options = Options([dead.Http.ToString(), miner.Address.ToString()]);
        options.MaxRetries = 1;
        using var client = new MinerClient(options);

        var first = await client.RegisterModelAsync("det", TestJobs.Model());
        Assert.Equal(dead.Http.ToString(), Assert.Single(first.Failed).Endpoint);
        Assert.Empty(first.AlreadyRegistered);
        var again = await client.RegisterModelAsync("det", TestJobs.Model()); // without replace: held already
        Assert.Equal([miner.Address.ToString()], again.AlreadyRegistered);

        options.Endpoints = [dead.Http.ToString()];
        using var none = new MinerClient(options);
        var e = await Assert.ThrowsAsync<RpcException>(() => none.RegisterModelAsync("det", TestJobs.Model())); // no replica took it
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
    }

    [Fact]
    public async Task A_real_dns_name_reaches_the_replica_behind_it()
    {
        // grpc-dotnet's own DNS resolver, not the tests' stand-in: localhost is 127.0.0.1 here.
        await using var miner = await LoopbackMiner.StartAsync();
        using var client = new MinerClient(Options([$"dns:///localhost:{miner.Address.Port}"]));
        await Prepare(client);
        var request = TestJobs.Request("det", 7, seed: 7);
        await using var session = client.OpenMiningSession();
        await AssertMined(session, request, await Expected([request]));
        Assert.Equal(miner.Address.ToString(), session.Endpoint);
    }

    [Fact]
    public async Task A_name_that_resolves_to_no_replica_fails_writes_as_unavailable_and_the_first_replica_to_appear_gets_them()
    {
        var name = new NamedReplicas();
        var options = Named(name);
        options.MaxRetries = 2;
        using var client = new MinerClient(options);

        var e = await Assert.ThrowsAsync<RpcException>(() => client.RegisterModelAsync("det", TestJobs.Model()));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains(NamedReplicas.Endpoint, e.Status.Detail, StringComparison.Ordinal);
        await using (var session = client.OpenMiningSession())
        {
            await Assert.ThrowsAsync<MinerUnavailableException>(() => session.MineAsync(TestJobs.Request("det", 1, seed: 1)));
        }

        await using var miner = await LoopbackMiner.StartAsync();
        name.Set(miner.Address);
        await WaitUntil(() => client.Replicas.Current.Any(r => r.Joined), "the replica joined");
        Assert.Empty((await Job(miner)).Versions); // registered on joining, no version published yet
    }
}
