using System.Text.Json;
using Ohem.Service.Tests;
using Ohem.Testing;
using Ohem.Torch;
using Ohem.Trainer.Tests.Support;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Training;

/// <summary>Training against a real miner on loopback: versions published and used, staleness bounded.</summary>
[Collection(LibtorchThreads.Name)]
public sealed class RemoteTrainingRunTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ohem-remote-{Guid.NewGuid():N}");

    [NeedsFact(Needs.FashionMnist)]
    public Task Synchronous_mining_scores_exactly_the_trained_weights() => MinesRemotelyWithinBound(0);

    [NeedsFact(Needs.FashionMnist)]
    public Task Pipelined_mining_is_at_most_one_version_stale() => MinesRemotelyWithinBound(1);

    [NeedsFact(Needs.FashionMnist)]
    public Task Staleness_two_is_honoured() => MinesRemotelyWithinBound(2);

    private async Task MinesRemotelyWithinBound(int staleness)
    {
        await using var miner = await LoopbackMiner.StartAsync();
        var options = TinyRun.Remote(_root, miner.Address, staleness);
        TrainingRun.Run(options);

        var lines = File.ReadAllLines(Path.Combine(options.Output, TrainingRun.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(options.Steps, lines.Length);
        ulong previousScored = 0;
        foreach (var line in lines)
        {
            var step = line.GetProperty("step").GetInt32();
            Assert.True(line.GetProperty("remote").GetBoolean(), $"step {step} was mined in process");
            var trainer = line.GetProperty("trainer_version").GetUInt64();
            var scored = line.GetProperty("scored_version").GetUInt64();
            Assert.Equal((ulong)step, trainer); // version 1 is the initial head; one publish per step after
            Assert.InRange(trainer - scored, 0UL, (ulong)staleness);
            Assert.True(scored >= previousScored, $"step {step}: scored with {scored} after {previousScored}");
            previousScored = scored;
            if (staleness == 0)
            {
                // Same weights, same feature maps: the miner's loss of each selected RoI is the trainer's.
                Assert.InRange(line.GetProperty("miner_loss_gap").GetDouble(), 0, 1e-4);
            }
        }

        if (staleness > 0)
        {
            // Pipelined: after the first batch, batches are scored one version behind the trainer.
            Assert.Contains(lines.Skip(1), l => l.GetProperty("staleness").GetUInt64() == 1);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void A_dead_miner_does_not_stop_training()
    {
        using var dead = ReservedPort.Reserve(); // nothing listens there, nor can while the test runs
        var options = TinyRun.Remote(_root, dead.Http, 1) with { Steps = 4, Output = Path.Combine(_root, "dead") };
        var summary = TrainingRun.Run(options);
        var lines = File.ReadAllLines(Path.Combine(options.Output, TrainingRun.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.False(l.GetProperty("remote").GetBoolean()));
        Assert.All(lines, l => Assert.False(string.IsNullOrEmpty(l.GetProperty("fallback").GetString())));
        Assert.All(lines, l => Assert.InRange(l.GetProperty("selected").GetInt32(), 1, 128));
        Assert.InRange(summary.Validation.MeanAp, 0f, 1f);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Killing_the_miner_mid_run_falls_back_and_restarting_it_brings_the_trainer_back()
    {
        // The restarted miner comes back at the same address, reserved meanwhile so that no other
        // server (other tests run in parallel) can take the port.
        using var port = ReservedPort.Reserve();
        var miner = LoopbackMiner.StartAsync(("Miner:Listen", port.Http.ToString())).GetAwaiter().GetResult();
        var options = TinyRun.Remote(_root, miner.Address, 1) with { Steps = 24, MinerProbeSeconds = 0.5, Output = Path.Combine(_root, "kill") };
        LoopbackMiner? restarted = null;
        try
        {
            TrainingRun.Run(options, record =>
            {
                if (record.Step == 6)
                {
                    miner.DisposeAsync().AsTask().GetAwaiter().GetResult(); // the miner dies mid-run
                }
                else if (record.Step == 12)
                {
                    restarted = LoopbackMiner.StartAsync(("Miner:Listen", port.Http.ToString())).GetAwaiter().GetResult();
                }
                else if (record.Step is > 12 and < 20)
                {
                    Thread.Sleep(200); // give the probe interval and the client's circuit time to pass
                }
            });
        }
        finally
        {
            restarted?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        var lines = File.ReadAllLines(Path.Combine(options.Output, TrainingRun.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(options.Steps, lines.Length); // training never stopped
        bool Remote(int step) => lines[step - 1].GetProperty("remote").GetBoolean();
        Assert.True(Enumerable.Range(1, 6).All(Remote), "mined remotely before the kill");
        Assert.Contains(Enumerable.Range(8, 5), s => !Remote(s)); // fell back while the miner was down
        Assert.All(lines.Where(l => !l.GetProperty("remote").GetBoolean()),
            l => Assert.False(string.IsNullOrEmpty(l.GetProperty("fallback").GetString())));
        Assert.True(Remote(options.Steps), "back on the miner after it restarted");
        // Back on a restarted miner, the job was registered again and the newest weights published:
        // the scorings are still at most one version behind the trainer.
        Assert.All(lines.Where(l => l.GetProperty("remote").GetBoolean()),
            l => Assert.InRange(l.GetProperty("staleness").GetUInt64(), 0UL, 1UL));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
