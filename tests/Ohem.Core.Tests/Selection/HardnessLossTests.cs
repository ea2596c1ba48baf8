using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;
using Ohem.Testing;

namespace Ohem.Core.Tests.Selection;

/// <summary>The ranking policies' "hardness" option: which loss term RoIs are ranked by.</summary>
public class HardnessLossTests
{
    /// <summary>Two disjoint RoIs: the first is harder by classification, the second by its box.</summary>
    private static readonly float[] Boxes = [0, 0, 5, 5, 10, 0, 15, 5];
    private static readonly int[] Labels = [1, 1];
    private static readonly float[] Class = [2f, 0.5f], Box = [0.1f, 3f];
    private static readonly float[] Total = [2.1f, 3.5f];

    [Theory]
    [InlineData("ohem", "cls+box", 1)]
    [InlineData("ohem", "cls", 0)]
    [InlineData("ohem", "box", 1)]
    [InlineData("topk", "cls+box", 1)]
    [InlineData("topk", "CLS", 0)]
    [InlineData("topk", "box", 1)]
    public void Ranks_by_the_chosen_term(string policy, string hardness, int hardest)
    {
        var selector = SelectionPolicies.Create(policy, new Dictionary<string, string> { ["budget"] = "1", ["hardness"] = hardness });
        Assert.Equal([hardest], selector.Select(new ImageRois(Boxes, Total, Labels, default, Class, Box)).Indices);
    }

    [Fact]
    public void A_term_the_caller_did_not_supply_is_named()
    {
        var selector = SelectionPolicies.Create("ohem", new Dictionary<string, string> { ["hardness"] = "cls" });
        var e = Assert.Throws<ArgumentException>(() => selector.Select(new ImageRois(Boxes, Total, Labels)));
        Assert.Equal("ClassLosses", e.ParamName);
        Assert.Contains("'cls'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Terms_of_the_wrong_length_fail_validation_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => new ImageRois(Boxes, Total, Labels, default, [1f], Box).Validate());
        Assert.Equal("ClassLosses", e.ParamName);
    }

    /// <summary>
    /// Ranking by a term is ranking by that term as the loss: the selection over (total, cls, box)
    /// with hardness cls (box) equals the default selection over a case whose losses are the cls
    /// (box) values, for ohem (NMS, budget, ties) and topk alike.
    /// </summary>
    [Fact]
    public void Ranking_by_a_term_equals_ranking_with_that_term_as_the_loss()
    {
        var cases = (from c in RoiCase.Generator
                     from budget in Gen.Choose(1, 40)
                     from policy in Gen.Elements("ohem", "topk")
                     from kind in Gen.Elements(HardnessLoss.Class, HardnessLoss.Box)
                     from seed in Gen.Choose(0, int.MaxValue)
                     select (c, budget, policy, kind, seed)).ToArbitrary();
        Properties.Check(Prop.ForAll(cases, x =>
        {
            var (c, budget, policy, kind, seed) = x;
            var rng = new Random(seed);
            // Quarter steps, as the case's own losses: ties between RoIs are common.
            var cls = c.Losses.Select(_ => rng.Next(0, 24) / 4f).ToArray();
            var box = c.Labels.Select(l => l >= 1 ? rng.Next(0, 24) / 4f : 0f).ToArray();
            var term = kind == HardnessLoss.Class ? cls : box;
            var options = new Dictionary<string, string> { ["budget"] = $"{budget}", ["hardness"] = kind.Name() };
            var byTerm = SelectionPolicies.Create(policy, options).Select(new ImageRois(c.Boxes, c.Losses, c.Labels, c.MaxOverlaps, cls, box));
            var asLoss = SelectionPolicies.Create(policy, new Dictionary<string, string> { ["budget"] = $"{budget}" })
                .Select(new ImageRois(c.Boxes, term, c.Labels, c.MaxOverlaps));
            Assert.Equal(asLoss.Indices, byTerm.Indices);
            Assert.Equal(asLoss.Counts, byTerm.Counts);
        }), maxTest: 300);
    }

    [Fact]
    public void Names_round_trip_and_the_default_is_the_papers()
    {
        Assert.Equal(["cls+box", "cls", "box"], HardnessLossNames.Names);
        foreach (var kind in Enum.GetValues<HardnessLoss>())
        {
            Assert.True(HardnessLossNames.TryParse(kind.Name(), out var parsed));
            Assert.Equal(kind, parsed);
        }

        Assert.False(HardnessLossNames.TryParse("loc", out _));
        Assert.Equal(HardnessLoss.ClassAndBox, new OhemOptions().Hardness);
        Assert.Equal(HardnessLoss.ClassAndBox, new TopKOptions().Hardness);
    }
}
