using System.Collections.Concurrent;
using Grpc.Core;
using Ohem.Service.Tests;
using Ohem.Testing;
using Ohem.Trainer.Data;
using Ohem.Trainer.Mining;
using Ohem.Trainer.Tests.Support;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Mining;

/// <summary>Training goes on when the miner dies, and goes back to it when it returns.</summary>
public sealed class FailoverMinerTests
{
    // Probes follow the test's clock; the remote timeout is real time, reached only by a hung call.
    private static readonly FailoverOptions Failover = new() { ProbeInterval = TimeSpan.FromSeconds(10), RemoteTimeout = TimeSpan.FromSeconds(30) };

    private static async Task<MiningOutcome> Mine(FailoverMiner miner, MiningFixture f, TrainingBatch batch, ulong id, ulong minVersion, Action? onLocal = null)
    {
        using var features = f.Backbone(batch);
        var outcome = await miner.MineAsync(batch, features.ToArray(), features.Channels, features.Height, features.Width, id, minVersion, () =>
        {
            onLocal?.Invoke();
            return f.InProcess.Mine(features, batch);
        });
        if (outcome.Remote)
        {
            f.AssertMinedAlike(features, batch, outcome.Batch, minVersion);
        }
        else
        {
            Assert.Equal(f.InProcess.Mine(features, batch).Indices, outcome.Batch.Indices);
        }

        return outcome;
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task A_miner_stopped_mid_run_is_replaced_by_in_process_mining_until_it_restarts()
    {
        // The restarted miner comes back at the same address, reserved meanwhile so that no other
        // server (other tests run in parallel) can take the port.
        using var port = ReservedPort.Reserve();
        var server = await LoopbackMiner.StartAsync(("Miner:Listen", port.Http.ToString()));
        using var f = new MiningFixture();
        var clock = new ManualClock();
        var log = new ConcurrentQueue<string>();
        await using var miner = await FailoverMiner.ConnectAsync(
            MiningFixture.Client(server.Address), "failover", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions,
            publisher: true, Failover, log.Enqueue, clock);
        Assert.True(miner.IsRemoteUp);
        var batch = MiningFixture.Batch(0);
        var localCalls = 0;

        var first = await Mine(miner, f, batch, 1, 1, () => localCalls++);
        Assert.True(first.Remote);
        Assert.Null(first.FallbackReason);
        Assert.Equal(0, localCalls);

        await server.DisposeAsync(); // the miner dies
        var second = await Mine(miner, f, batch, 2, 1, () => localCalls++);
        Assert.False(second.Remote);
        Assert.StartsWith("miner unavailable", second.FallbackReason, StringComparison.Ordinal);
        Assert.Equal(1, localCalls);
        Assert.False(miner.IsRemoteUp);
        Assert.StartsWith("miner unavailable (", Assert.Single(log), StringComparison.Ordinal);

        // While down: publishing keeps the version for later, batches go in-process without a try.
        var attempts = miner.RemoteAttempts;
        f.Train(MiningFixture.Batch(2));
        Assert.False(await miner.PublishAsync(2, f.Detector.HeadWeights()));
        Assert.False((await Mine(miner, f, batch, 3, 1)).Remote);
        await using var restarted = await LoopbackMiner.StartAsync(("Miner:Listen", port.Http.ToString()));
        Assert.False((await Mine(miner, f, batch, 4, 1)).Remote); // back, but not probed before the interval
        Assert.Equal(attempts, miner.RemoteAttempts);
        Assert.Single(log);

        // The probe finds a new miner process that knows no job: the job is registered again and the
        // version published meanwhile installed before the batch is scored. The client's channel
        // reconnects on its own back-off (at most RetryMaxDelay, 50 ms here, plus gRPC's 20% jitter):
        // a probe inside that window fails fast as the miner still being down, so wait it out.
        await Task.Delay(5 * MiningFixture.Client(server.Address).RetryMaxDelay);
        clock.Advance(TimeSpan.FromSeconds(11));
        var back = await Mine(miner, f, batch, 5, 2);
        Assert.True(back.Remote);
        Assert.True(miner.IsRemoteUp);
        Assert.Equal(2, log.Count);
        Assert.StartsWith("miner back (", log.Last(), StringComparison.Ordinal);
        Assert.Contains("3 batches were mined in-process", log.Last(), StringComparison.Ordinal);
        Assert.Equal((2L, 3L, 1L), (miner.RemoteBatches, miner.LocalBatches, miner.Outages));
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task A_dead_endpoint_never_throws_and_costs_one_try_per_probe_interval()
    {
        using var dead = ReservedPort.Reserve(); // nothing listens there, nor can while the test runs
        using var f = new MiningFixture();
        var clock = new ManualClock();
        var log = new ConcurrentQueue<string>();
        await using var miner = await FailoverMiner.ConnectAsync(
            MiningFixture.Client(dead.Http), "dead", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions,
            publisher: true, Failover, log.Enqueue, clock);
        Assert.False(miner.IsRemoteUp);
        Assert.Equal(1, miner.RemoteAttempts);
        var batch = MiningFixture.Batch(0);

        Assert.False((await Mine(miner, f, batch, 1, 1)).Remote);
        Assert.False(await miner.PublishAsync(2, f.Detector.HeadWeights()));
        Assert.Equal(1, miner.RemoteAttempts);
        clock.Advance(TimeSpan.FromSeconds(11));
        var probed = await Mine(miner, f, batch, 2, 2);
        Assert.False(probed.Remote);
        Assert.Equal(2, miner.RemoteAttempts);
        Assert.False((await Mine(miner, f, batch, 3, 2)).Remote);
        Assert.Equal(2, miner.RemoteAttempts);
        Assert.StartsWith("miner unavailable (", Assert.Single(log), StringComparison.Ordinal); // one line per transition
        Assert.Equal((0L, 3L, 1L), (miner.RemoteBatches, miner.LocalBatches, miner.Outages));
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task A_pool_with_a_replica_down_registers_publishes_and_mines_on_the_others()
    {
        await using var server = await LoopbackMiner.StartAsync();
        using var f = new MiningFixture();
        var log = new ConcurrentQueue<string>();
        using var deadPort = ReservedPort.Reserve(); // nothing listens there, nor can while the test runs
        var dead = deadPort.Http.ToString();
        await using var miner = await FailoverMiner.ConnectAsync(
            MiningFixture.Client(deadPort.Http, server.Address), "pool", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions,
            publisher: true, Failover, log.Enqueue);
        Assert.True(miner.IsRemoteUp);
        Assert.Equal(1UL, miner.Remote.InstalledVersion);

        f.SetHead(Ohem.Onnx.Export.RoiHeadExporter.RandomWeights(f.Spec, seed: 4));
        Assert.True(await miner.PublishAsync(2, f.Detector.HeadWeights()));
        Assert.StartsWith($"weights version 2 not installed on {dead}", Assert.Single(log), StringComparison.Ordinal);

        var outcome = await Mine(miner, f, MiningFixture.Batch(0), 1, 2); // the stream fails over from the dead replica
        Assert.True(outcome.Remote);
        Assert.Equal(server.Address.ToString(), miner.Remote.Endpoint);
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task A_request_the_miner_calls_wrong_is_thrown_not_mined_locally()
    {
        await using var server = await LoopbackMiner.StartAsync();
        using var f = new MiningFixture();
        await using var miner = await FailoverMiner.ConnectAsync(
            MiningFixture.Client(server.Address), "wrong", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions,
            publisher: true, Failover);
        var batch = MiningFixture.Batch(0);
        using var features = f.Backbone(batch);

        // The same floats claimed as half the channels at twice the height: the model takes 16 channels.
        var e = await Assert.ThrowsAsync<MinerBatchException>(() => miner.MineAsync(
            batch, features.ToArray(), features.Channels / 2, features.Height * 2, features.Width, 1, 1, () => throw new InvalidOperationException("mined locally")));
        Assert.Equal(StatusCode.InvalidArgument, e.Code);
        Assert.Contains("features", e.Message, StringComparison.Ordinal);
        Assert.True(miner.IsRemoteUp);
        Assert.Equal(0L, miner.LocalBatches);
    }
}
