using System.Text.Json;
using Ohem.Testing;
using Ohem.Trainer.Reporting;
using Ohem.Trainer.Tests.Support;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Training;

/// <summary>
/// End to end with the miner as its own process, as scripts/main.sh runs it: the trainer publishes
/// and mines through it, the bounds hold from both sides (the trainer's log and the miner's
/// /metrics), and a SIGKILLed miner costs no step.
/// </summary>
[Collection(LibtorchThreads.Name)]
public sealed class MinerProcessTrainingTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ohem-process-{Guid.NewGuid():N}");

    private static JsonElement[] Log(TrainOptions options) =>
        [.. File.ReadAllLines(Path.Combine(options.Output, TrainingRun.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement)];

    /// <summary>The one sample of <paramref name="name"/> for <paramref name="job"/> (and <paramref name="outcome"/>, for batch counts) in a scrape.</summary>
    private static double JobSample(IReadOnlyList<PrometheusSample> samples, string job, string name, string? outcome = null) =>
        samples.Single(s => s.Name == name && s.Labels["job"] == job && (outcome is null || s.Labels["outcome"] == outcome)).Value;

    [NeedsFact(Needs.FashionMnist)]
    public async Task Pipelined_training_publishes_every_version_and_uses_none_older_than_one()
    {
        using var miner = await MinerProcess.StartAsync();
        var options = TinyRun.Remote(_root, miner.Address, 1) with { Steps = 30 };
        TrainingRun.Run(options);

        var lines = Log(options);
        Assert.Equal(options.Steps, lines.Length);
        Assert.All(lines, l => Assert.True(l.GetProperty("remote").GetBoolean(), $"step {l.GetProperty("step")} was mined in process. Miner log:\n{miner.Log}"));
        Assert.All(lines, l => Assert.InRange(l.GetProperty("trainer_version").GetUInt64() - l.GetProperty("scored_version").GetUInt64(), 0UL, 1UL));

        // The miner's side: version 1 at registration and one per step, all installed; every batch answered and counted.
        var job = TrainingRun.JobIdOf(options);
        var samples = PrometheusSample.Parse(await miner.ScrapeAsync());
        double Value(string name, string? outcome = null) => JobSample(samples, job, name, outcome);
        Assert.Equal(options.Steps + 1, Value("ohem_weights_version"));
        var answered = Value("ohem_batches_total", "ok");
        Assert.Equal(options.Steps + lines.Count(l => l.GetProperty("rescored").GetBoolean()), answered);
        Assert.Equal(answered, Value("ohem_scored_versions_behind_count"));
        Assert.Contains(lines.Skip(1), l => l.GetProperty("staleness").GetUInt64() == 1); // it did overlap
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task Synchronous_training_trains_on_exactly_the_losses_the_miner_scored()
    {
        using var miner = await MinerProcess.StartAsync();
        var options = TinyRun.Remote(_root, miner.Address, 0) with { Steps = 20 };
        TrainingRun.Run(options);

        foreach (var line in Log(options))
        {
            Assert.Equal(line.GetProperty("trainer_version").GetUInt64(), line.GetProperty("scored_version").GetUInt64());
            // The trainer's loss of each selected RoI (libtorch) is the miner's (ONNX Runtime), same batch and version.
            Assert.InRange(line.GetProperty("miner_loss_gap").GetDouble(), 0, 1e-4);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public async Task Two_ranks_share_one_miner_rank_zero_publishes_and_rank_one_mines_at_the_versions_it_asks_for()
    {
        using var miner = await MinerProcess.StartAsync();
        var rank0 = TinyRun.Remote(_root, miner.Address, 1) with { Steps = 20, JobId = "ranks", Output = Path.Combine(_root, "rank0") };
        var rank1 = rank0 with { Rank = 1, Seed = 2, Output = Path.Combine(_root, "rank1") };
        using var registered = new ManualResetEventSlim();
        var first = Task.Run(() => TrainingRun.Run(rank0, record => registered.Set()));
        Assert.True(registered.Wait(TimeSpan.FromMinutes(2)), "rank 0 did not finish a step");
        var second = Task.Run(() => TrainingRun.Run(rank1)); // joins the job rank 0 registered
        await Task.WhenAll(first, second);

        var (log0, log1) = (Log(rank0), Log(rank1));
        Assert.Equal(rank0.Steps, log0.Length);
        Assert.Equal(rank1.Steps, log1.Length);
        Assert.All(log0.Concat(log1), l => Assert.True(l.GetProperty("remote").GetBoolean(), $"mined in process: {l}. Miner log:\n{miner.Log}"));
        // Rank 1 never published: every version it was scored with came from rank 0, and none older than it asked for.
        Assert.All(log1, l => Assert.True(
            l.GetProperty("scored_version").GetUInt64() + 1 >= l.GetProperty("trainer_version").GetUInt64(), $"rank 1 scored too stale: {l}"));
        Assert.All(log1, l => Assert.InRange(l.GetProperty("scored_version").GetUInt64(), 1UL, (ulong)rank0.Steps + 1));

        var samples = PrometheusSample.Parse(await miner.ScrapeAsync());
        double Value(string name, string? outcome = null) => JobSample(samples, "ranks", name, outcome);
        Assert.Equal(rank0.Steps + 1, Value("ohem_weights_version")); // rank 0's versions only
        Assert.Equal(log0.Concat(log1).Count(l => !l.GetProperty("rescored").GetBoolean()) + (2 * log0.Concat(log1).Count(l => l.GetProperty("rescored").GetBoolean())),
            Value("ohem_batches_total", "ok"));
    }

    [NeedsFact(Needs.FashionMnist)]
    public void A_killed_miner_process_costs_no_step_and_its_restart_is_used_again()
    {
        using var grpc = ReservedPort.Reserve();
        using var metrics = ReservedPort.Reserve();
        var miner = MinerProcess.StartAsync(grpc, metrics).GetAwaiter().GetResult();
        var options = TinyRun.Remote(_root, miner.Address, 1) with { Steps = 36, MinerProbeSeconds = 0.5, Output = Path.Combine(_root, "kill") };
        try
        {
            TrainingRun.Run(options, record =>
            {
                if (record.Step == 6)
                {
                    miner.Kill(); // SIGKILL mid-run: the stream breaks with batches in flight
                }
                else if (record.Step == 12)
                {
                    miner.Dispose();
                    miner = MinerProcess.StartAsync(grpc, metrics).GetAwaiter().GetResult(); // same ports; healthy before training goes on
                }
                else if (record.Step is > 12 and < 32 && record.Mining is { Remote: false })
                {
                    Thread.Sleep(500); // let probe intervals pass (probes ride on mining calls) until the trainer is back
                }
            });
        }
        finally
        {
            miner.Dispose();
        }

        var lines = Log(options);
        Assert.Equal(options.Steps, lines.Length); // training never stopped
        bool Remote(int step) => lines[step - 1].GetProperty("remote").GetBoolean();
        Assert.True(Enumerable.Range(1, 6).All(Remote), "mined remotely before the kill");
        Assert.True(Enumerable.Range(8, 5).All(s => !Remote(s)), "mined in process while the miner was dead");
        Assert.All(lines.Where(l => !l.GetProperty("remote").GetBoolean()), l => Assert.False(string.IsNullOrEmpty(l.GetProperty("fallback").GetString())));
        Assert.True(Remote(options.Steps), $"back on the restarted miner by the last step. Miner log:\n{miner.Log}");
        // The restarted miner got the job again and the trainer's newest weights: still within the bound.
        Assert.All(lines.Where(l => l.GetProperty("remote").GetBoolean()), l => Assert.InRange(l.GetProperty("staleness").GetUInt64(), 0UL, 1UL));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
