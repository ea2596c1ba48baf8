using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

/// <summary>Sampling policies: the same seed and calls give the same samples; another seed differs.</summary>
public class SamplingDeterminismTests
{
    public static TheoryData<string> SamplingPolicies => [SelectionPolicies.FgBg, SelectionPolicies.SelectiveBackprop, SelectionPolicies.Importance];

    private static IHardExampleSelector Create(string policy, int seed) =>
        SelectionPolicies.Create(policy, new Dictionary<string, string> { ["seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture), ["budget"] = "8" });

    [Theory]
    [MemberData(nameof(SamplingPolicies))]
    public void Same_seed_gives_the_same_samples(string policy)
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), Prop.ForAll(RoiCase.Generator.ToArbitrary(), c =>
        {
            var a = Create(policy, 42);
            var b = Create(policy, 42);
            for (var call = 0; call < 3; call++)
            {
                var x = a.Select(c.Rois);
                var y = b.Select(c.Rois);
                Assert.Equal(x.Indices, y.Indices);
                Assert.Equal(x.Weights, y.Weights);
            }
        }));
    }

    [Theory]
    [MemberData(nameof(SamplingPolicies))]
    public void Different_seeds_give_different_samples(string policy)
    {
        // 200 fg-eligible, bg-eligible, mid-loss RoIs: the chance two seeds agree on every call is nil.
        var c = RoiCase.Disjoint(
            [.. Enumerable.Range(0, 200).Select(i => 1f + i % 7)],
            [.. Enumerable.Range(0, 200).Select(i => i % 2)],
            [.. Enumerable.Range(0, 200).Select(i => i % 2 == 1 ? 0.8f : 0.3f)]);
        var a = Create(policy, 1);
        var b = Create(policy, 2);
        var differs = false;
        for (var call = 0; call < 5; call++)
        {
            differs |= !a.Select(c.Rois).Indices.SequenceEqual(b.Select(c.Rois).Indices);
        }

        Assert.True(differs);
    }
}
