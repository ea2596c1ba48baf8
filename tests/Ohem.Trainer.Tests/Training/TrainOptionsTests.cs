using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Training;

public sealed class TrainOptionsTests
{
    [Fact]
    public void Defaults_are_the_papers_batch_and_valid()
    {
        var o = new TrainOptions();
        o.Validate();
        Assert.Equal(2, o.ImagesPerBatch);
        Assert.Equal(128, o.RoisPerBatch);
        Assert.Equal("ohem", o.Sampler);
    }

    [Theory]
    [InlineData("--steps")]
    [InlineData("--rois-per-batch")]
    [InlineData("--lr")]
    [InlineData("--decay-at")]
    [InlineData("--threads")]
    public void A_bad_field_is_named(string field)
    {
        var o = field switch
        {
            "--steps" => new TrainOptions { Steps = 0 },
            "--rois-per-batch" => new TrainOptions { RoisPerBatch = 127 },
            "--lr" => new TrainOptions { LearningRate = float.NaN },
            "--decay-at" => new TrainOptions { DecayAt = 1.5f },
            _ => new TrainOptions { Threads = 0 },
        };
        var e = Assert.ThrowsAny<ArgumentException>(o.Validate);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Miners_are_replicas_or_a_name_behind_which_they_are()
    {
        new TrainOptions { Miners = ["http://miner-0:50051", "https://miner-1:50051", "dns:///ohem-miner-headless.ml.svc.cluster.local:50051"] }.Validate();
        var e = Assert.ThrowsAny<ArgumentException>(new TrainOptions { Miners = ["dns://ohem-miner-headless:50051"] }.Validate);
        Assert.StartsWith("--miner 'dns://ohem-miner-headless:50051' ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Learning_rate_warms_up_then_decays_tenfold()
    {
        var o = new TrainOptions { Steps = 100, LearningRate = 0.02f, WarmupSteps = 10, DecayAt = 0.5f };
        Assert.Equal(0.02f * 0.19f, o.LearningRateAt(1), 6);
        Assert.Equal(0.02f, o.LearningRateAt(10), 6);
        Assert.Equal(0.02f, o.LearningRateAt(50), 6);
        Assert.Equal(0.002f, o.LearningRateAt(51), 6);
        Assert.Equal(0.002f, o.LearningRateAt(100), 6);
    }

    [Fact]
    public void Learning_rate_never_rises_after_warm_up_and_never_exceeds_the_peak()
    {
        Properties.Check(Prop.ForAll(
            Gen.Choose(1, 500).ToArbitrary(), Gen.Choose(0, 50).ToArbitrary(),
            (steps, warmup) =>
            {
                var o = new TrainOptions { Steps = steps, WarmupSteps = warmup, LearningRate = 0.01f };
                var previous = float.MaxValue;
                for (var s = warmup + 1; s <= steps; s++)
                {
                    var lr = o.LearningRateAt(s);
                    if (lr > previous || lr > 0.01f || lr <= 0f)
                    {
                        return false;
                    }

                    previous = lr;
                }

                return Enumerable.Range(1, steps).All(s => o.LearningRateAt(s) <= 0.01f + 1e-9f);
            }));
    }

    [Fact]
    public void Batch_order_visits_every_canvas_once_per_epoch()
    {
        Properties.Check(Prop.ForAll(
            Gen.Choose(1, 60).ToArbitrary(), Gen.Choose(1, 4).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(),
            (count, n, seed) =>
            {
                var order = new BatchOrder(count, n, seed);
                var seen = new List<int>();
                while (seen.Count < count * 3)
                {
                    seen.AddRange(order.Next());
                }

                // Every consecutive window of `count` from an epoch boundary is a permutation.
                return Enumerable.Range(0, 3).All(e =>
                    seen.Skip(e * count).Take(count).Order().SequenceEqual(Enumerable.Range(0, count)));
            }));
    }

    [Fact]
    public void Batch_order_is_deterministic_per_seed()
    {
        var a = new BatchOrder(100, 2, 7);
        var b = new BatchOrder(100, 2, 7);
        var c = new BatchOrder(100, 2, 8);
        var sa = Enumerable.Range(0, 50).SelectMany(_ => a.Next()).ToArray();
        Assert.Equal(sa, Enumerable.Range(0, 50).SelectMany(_ => b.Next()).ToArray());
        Assert.NotEqual(sa, Enumerable.Range(0, 50).SelectMany(_ => c.Next()).ToArray());
    }
}
