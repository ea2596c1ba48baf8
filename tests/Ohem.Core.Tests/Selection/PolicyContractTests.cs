using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

/// <summary>The rules every policy shares, checked for all five through the factory.</summary>
public class PolicyContractTests
{
    public static TheoryData<string> AllPolicies => [.. SelectionPolicies.Names];

    private static IHardExampleSelector Create(string name, int budget) =>
        SelectionPolicies.Create(name, new Dictionary<string, string> { ["budget"] = budget.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    [Theory]
    [MemberData(nameof(AllPolicies))]
    public void Random_images_give_unique_in_range_non_ignored_indices_with_consistent_counts(string name)
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(RoiCase.WithBudget, x =>
        {
            var (c, budget) = x;
            var s = Create(name, budget).Select(c.Rois);
            SelectionAssert.WellFormed(s, c, name == SelectionPolicies.SelectiveBackprop ? null : budget);
            if (name != SelectionPolicies.Ohem)
            {
                Assert.Equal(0, s.Counts.SuppressedByNms);
            }
        }));
    }

    [Theory]
    [MemberData(nameof(AllPolicies))]
    public void Empty_input_gives_an_empty_selection(string name)
    {
        var s = Create(name, 64).Select(new ImageRois([], [], [], []));
        Assert.Empty(s.Indices);
        Assert.Equal(default, s.Counts);
    }

    [Theory]
    [MemberData(nameof(AllPolicies))]
    public void Fewer_candidates_than_budget_never_fails(string name)
    {
        // Three disjoint candidates, all eligible for every policy (fg/bg overlaps, non-zero losses),
        // plus one ignored RoI: every policy returns exactly the three (selective-backprop's
        // default keep fraction is min(1, 64 / 3) = 1).
        var c = RoiCase.Disjoint([1f, 2f, 3f, 4f], [1, 0, -1, 0], [0.7f, 0.3f, 0.9f, 0.2f]);
        var s = Create(name, 64).Select(c.Rois);
        Assert.Equal([0, 1, 3], s.Indices.Order());
    }

    [Theory]
    [MemberData(nameof(AllPolicies))]
    public void Malformed_input_names_the_field_and_the_first_bad_index(string name)
    {
        var policy = Create(name, 4);
        var boxes = new float[] { 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1 };
        var overlaps = new float[3];

        var loss = Assert.Throws<ArgumentException>(() => policy.Select(new ImageRois(boxes, [1f, 2f, float.NaN], [0, 0, 0], overlaps)));
        Assert.Contains("Losses[2]", loss.Message, StringComparison.Ordinal);

        var label = Assert.Throws<ArgumentException>(() => policy.Select(new ImageRois(boxes, [1f, 2f, 3f], [0, -2, 0], overlaps)));
        Assert.Contains("Labels[1]", label.Message, StringComparison.Ordinal);

        var box = Assert.Throws<ArgumentException>(() => policy.Select(new ImageRois([0, 0, 1, 1, 5, 0, 4, 1, 0, 0, 1, 1], [1f, 2f, 3f], [0, 0, 0], overlaps)));
        Assert.Contains("box 1", box.Message, StringComparison.Ordinal);

        var length = Assert.Throws<ArgumentException>(() => policy.Select(new ImageRois(boxes, [1f, 2f], [0, 0, 0], overlaps)));
        Assert.Equal("Losses", length.ParamName);
    }
}
