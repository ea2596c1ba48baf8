using Grpc.Core;
using Ohem.Client.Tests;
using Ohem.Onnx.Export;
using Ohem.Protocol.V1;
using Ohem.Service.Tests;
using Ohem.Trainer.Mining;
using Ohem.Trainer.Tests.Support;

namespace Ohem.Trainer.Tests.Mining;

/// <summary>The trainer's job on a real miner on loopback, checked against in-process mining.</summary>
public sealed class RemoteMinerTests
{
    [NeedsFact(Needs.FashionMnist)]
    public async Task A_trainer_given_a_name_reaches_every_replica_and_one_that_appears_mid_run_scores_with_the_newest_weights()
    {
        await using var a = await LoopbackMiner.StartAsync();
        await using var b = await LoopbackMiner.StartAsync();
        var name = new NamedReplicas(a.Address, b.Address);
        using var f = new MiningFixture();
        var options = MiningFixture.Client();
        options.Endpoints = [NamedReplicas.Endpoint];
        options.Resolver = name;
        await using var remote = await RemoteMiner.ConnectAsync(
            options, "named", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions, publisher: true);
        f.SetHead(RoiHeadExporter.RandomWeights(f.Spec, seed: 9, scale: 4f));
        Assert.Empty((await remote.PublishAsync(2, f.Detector.HeadWeights())).Failed);
        foreach (var miner in new[] { a, b })
        {
            Assert.Equal([1UL, 2UL], (await Versions(miner)).Select(v => v.Version));
        }

        // A replica appears mid-run: it gets the job and version 2 from the trainer's client; then
        // the first two leave the name and the stream must go to it.
        await using var c = await LoopbackMiner.StartAsync();
        name.Set(a.Address, b.Address, c.Address);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Versions(c)).Select(v => v.Version).LastOrDefault() != 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the new replica held version 2 within 30 s");
            await Task.Delay(10);
        }

        name.Set(c.Address);
        var batch = MiningFixture.Batch(0);
        using var features = f.Backbone(batch);
        var mined = await remote.MineAsync(batch, features.ToArray(), features.Channels, features.Height, features.Width, batchId: 1, minWeightsVersion: 2);
        f.AssertMinedAlike(features, batch, mined, version: 2);
        Assert.Equal(c.Address.ToString(), remote.Endpoint);
    }

    /// <summary>The versions of job "named" a miner holds; none before it knows the job.</summary>
    private static async Task<IReadOnlyList<HeldVersion>> Versions(LoopbackMiner miner)
    {
        try
        {
            var status = await new HardExampleMiner.HardExampleMinerClient(miner.Channel).GetStatusAsync(new GetStatusRequest { JobId = "named" });
            return [.. status.Jobs.Single().Versions];
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return [];
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task Mines_what_in_process_mining_selects_with_the_weights_of_the_version_it_names()
    {
        await using var server = await LoopbackMiner.StartAsync();
        using var f = new MiningFixture();
        await using var remote = await RemoteMiner.ConnectAsync(
            MiningFixture.Client(server.Address), "parity", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions, publisher: true);
        Assert.Equal(1UL, remote.InstalledVersion);
        var batch = MiningFixture.Batch(0);

        int[] first;
        using (var features = f.Backbone(batch))
        {
            var mined = await remote.MineAsync(batch, features.ToArray(), features.Channels, features.Height, features.Width, batchId: 1, minWeightsVersion: 1);
            f.AssertMinedAlike(features, batch, mined, version: 1);
            first = [.. mined.Indices.Order()];
        }

        // Version 2: a head that tells the classes apart at random (version 1's near-zero classifier
        // ranks RoIs mostly by their box loss), so the hard RoIs change.
        f.SetHead(RoiHeadExporter.RandomWeights(f.Spec, seed: 9, scale: 4f));
        var published = await remote.PublishAsync(2, f.Detector.HeadWeights());
        Assert.Empty(published.Failed);
        Assert.Equal([1UL, 2UL], published.Installed.VersionsHeld);

        using (var features = f.Backbone(batch))
        {
            // At least version 1: the newest held, 2, scores it.
            var mined = await remote.MineAsync(batch, features.ToArray(), features.Channels, features.Height, features.Width, batchId: 2, minWeightsVersion: 1);
            f.AssertMinedAlike(features, batch, mined, version: 2);
            Assert.NotEqual(first, mined.Indices.Order()); // the step changed which RoIs are hard: version 2 really scored it
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task A_rank_that_does_not_publish_waits_for_the_version_it_asks_for_and_is_served_once_it_is_published()
    {
        await using var server = await LoopbackMiner.StartAsync();
        using var f = new MiningFixture();
        var client = MiningFixture.Client(server.Address);
        await using var publisher = await RemoteMiner.ConnectAsync(
            client, "ranks", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions, publisher: true);
        await using var other = await RemoteMiner.ConnectAsync( // the job exists: registering again is not an error
            client, "ranks", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions, publisher: false);
        Assert.Throws<InvalidOperationException>(() => other.Defer(2, f.Detector.HeadWeights()));
        f.Train(MiningFixture.Batch(2));
        await publisher.PublishAsync(2, f.Detector.HeadWeights());

        var batch = MiningFixture.Batch(4);
        using var features = f.Backbone(batch);
        var waiting = other.MineAsync(batch, features.ToArray(), features.Channels, features.Height, features.Width, batchId: 7, minWeightsVersion: 3);

        // The miner holds 1 and 2 and waits (up to its 30 s) for 3: no answer can come before it is published.
        await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.False(waiting.IsCompleted, waiting.IsFaulted ? waiting.Exception!.Message : "answered without version 3");

        f.Train(MiningFixture.Batch(6)); // the sent feature maps stay as they were; the head moves on
        await publisher.PublishAsync(3, f.Detector.HeadWeights());
        var mined = await waiting;
        f.AssertMinedAlike(features, batch, mined, version: 3);
    }

    [Fact]
    public async Task Versions_must_grow_and_weights_must_fit_the_head()
    {
        using var f = new MiningFixture();
        await using var remote = RemoteMiner.Create( // no network needed to check arguments
            MiningFixture.Client(new Uri("http://127.0.0.1:9")), "checks", f.Spec, f.Detector.HeadWeights(), MiningFixture.Policy, MiningFixture.PolicyOptions, publisher: true);
        var weights = f.Detector.HeadWeights();
        Assert.Contains("expected above 1", Assert.Throws<ArgumentException>(() => remote.Defer(1, weights)).Message, StringComparison.Ordinal);
        var short_ = weights.ToDictionary(kv => kv.Key, kv => kv.Key == "fc6.bias" ? new float[3] : kv.Value);
        Assert.Contains("headWeights['fc6.bias'] has 3 values; expected float32 [32]", Assert.Throws<ArgumentException>(() => remote.Defer(2, short_)).Message, StringComparison.Ordinal);
        var extra = weights.Append(new("fc9.weight", [1f])).ToDictionary();
        Assert.Contains("'fc9.weight'", Assert.Throws<ArgumentException>(() => remote.Defer(2, extra)).Message, StringComparison.Ordinal);
        Assert.Contains("budget", Assert.Throws<ArgumentException>(() => RemoteMiner.Create(
            MiningFixture.Client(new Uri("http://127.0.0.1:9")), "checks", f.Spec, weights, "ohem", new Dictionary<string, string>(), publisher: false)).Message, StringComparison.Ordinal);
        remote.Defer(5, weights);
        Assert.Equal(5UL, remote.LatestVersion);
        Assert.Equal(0UL, remote.InstalledVersion);
    }
}
