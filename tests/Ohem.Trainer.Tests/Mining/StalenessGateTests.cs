using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Trainer.Mining;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Mining;

public sealed class StalenessGateTests
{
    [Theory]
    [InlineData(0, 0UL, 1UL)] // nothing published yet: version 1 is the first there is
    [InlineData(0, 1UL, 1UL)]
    [InlineData(0, 7UL, 7UL)] // synchronous: exactly the trainer's weights
    [InlineData(1, 7UL, 6UL)]
    [InlineData(3, 7UL, 4UL)]
    [InlineData(3, 3UL, 1UL)]
    [InlineData(3, 4UL, 1UL)]
    [InlineData(6, 7UL, 1UL)]
    [InlineData(100, 7UL, 1UL)]
    [InlineData(1, ulong.MaxValue, ulong.MaxValue - 1)]
    public void The_minimum_version_is_max_of_1_and_v_minus_s(int s, ulong v, ulong minimum)
    {
        var gate = new StalenessGate(s);
        Assert.Equal(minimum, gate.MinimumVersion(v));
        Assert.True(gate.Accepts(minimum, v));
        Assert.False(gate.Accepts(minimum - 1, v));
    }

    [Fact]
    public void A_negative_staleness_is_rejected_naming_the_option()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StalenessGate(-1));
        Assert.Contains("--max-staleness", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Accepts_exactly_the_versions_from_the_minimum_up()
    {
        Properties.Check(Prop.ForAll(
            Gen.Choose(0, 50).ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(),
            (s, v, scored) =>
            {
                // Independently, in signed arithmetic: at most s versions behind, never below 1.
                var gate = new StalenessGate(s);
                var minimum = Math.Max(1L, (long)v - s);
                return gate.MinimumVersion((ulong)v) == (ulong)minimum
                    && gate.Accepts((ulong)scored, (ulong)v) == (scored >= minimum)
                    && (s != 0 || v == 0 || gate.Accepts((ulong)scored, (ulong)v) == (scored >= v));
            }));
    }

    [Fact]
    public void More_staleness_never_accepts_less_and_a_newer_trainer_never_accepts_more()
    {
        Properties.Check(Prop.ForAll(
            Gen.Choose(0, 50).Two().ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), Gen.Choose(0, 100).ToArbitrary(),
            (staleness, v, ahead) =>
            {
                var (s, extra) = staleness;
                var tight = new StalenessGate(s);
                var loose = new StalenessGate(s + extra);
                return loose.MinimumVersion((ulong)v) <= tight.MinimumVersion((ulong)v)
                    && tight.MinimumVersion((ulong)v) <= tight.MinimumVersion((ulong)(v + ahead));
            }));
    }

    [Fact]
    public void In_process_outcomes_are_always_fresh_and_remote_ones_are_gated()
    {
        var gate = new StalenessGate(1);
        var local = new MiningOutcome(new MinedBatch([1], null, 0.5f), Remote: false, FallbackReason: "down");
        Assert.True(gate.Accepts(local, 100));
        var remote = new MiningOutcome(new MinedBatch([1], null, 0.5f, [0.5f], WeightsVersion: 98), Remote: true, FallbackReason: null);
        Assert.False(gate.Accepts(remote, 100));
        Assert.True(gate.Accepts(remote, 99));
    }
}
