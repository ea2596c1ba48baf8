using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

public class TopKSelectorTests
{
    [Fact]
    public void Keeps_the_hardest_budget_without_nms()
    {
        // Boxes 0 and 1 overlap completely: topk has no NMS, so both can be kept.
        var c = RoiCase.From(
            (0, 0, 10, 10, 0.9f, 0, 0),
            (0, 0, 10, 10, 0.7f, 0, 0),
            (20, 0, 30, 10, 0.1f, 1, 0),
            (40, 0, 50, 10, 0.5f, 0, 0));

        var s = new TopKSelector(new() { Budget = 2 }).Select(c.Rois);

        Assert.Equal([0, 1], s.Indices);
        Assert.Equal(new SelectionCounts(4, 0, 0, 0, 2), s.Counts);
    }

    [Fact]
    public void Positive_fraction_mines_positives_and_negatives_separately()
    {
        // Positives 0..2, negatives 3..6. Budget 4 x 0.25 = 1 positive (the hardest, #0), then the
        // 3 hardest negatives (#3, #4, #5). Merged hardest first by loss: 5, 3, 2, 1.
        var c = RoiCase.Disjoint([5f, 4f, 0.1f, 3f, 2f, 1f, 0.5f], [1, 2, 1, 0, 0, 0, 0]);

        var mined = new TopKSelector(new() { Budget = 4, PositiveFraction = 0.25 }).Select(c.Rois);
        var plain = new TopKSelector(new() { Budget = 4 }).Select(c.Rois);

        Assert.Equal([0, 3, 4, 5], mined.Indices);
        Assert.Equal((1, 3), (mined.Counts.Foreground, mined.Counts.Background));
        Assert.Equal([0, 1, 3, 4], plain.Indices);
    }

    [Fact]
    public void Negatives_fill_the_budget_when_positives_run_short()
    {
        // Budget 4 x 0.5 = 2 positives expected, only 1 exists: 3 negatives fill the rest.
        var c = RoiCase.Disjoint([0.2f, 3f, 2f, 1f, 0.5f], [1, 0, 0, 0, 0]);
        var s = new TopKSelector(new() { Budget = 4, PositiveFraction = 0.5 }).Select(c.Rois);
        Assert.Equal([1, 2, 3, 0], s.Indices);
    }

    [Fact]
    public void Fewer_candidates_than_budget_returns_all_of_them()
    {
        // mmdetection's topk fails here with "k not in range"; this must not.
        var c = RoiCase.Disjoint([1f, 2f, 9f, 3f], [0, 1, -1, 0]);
        Assert.Equal([3, 1, 0], new TopKSelector().Select(c.Rois).Indices);
        Assert.Equal([3, 1, 0], new TopKSelector(new() { PositiveFraction = 0.25 }).Select(c.Rois).Indices);
    }

    [Fact]
    public void Equals_a_full_sort_on_random_images()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(RoiCase.WithBudget, x =>
        {
            var (c, budget) = x;
            var s = new TopKSelector(new() { Budget = budget }).Select(c.Rois);
            Assert.Equal(NaiveReference.TopK(c, budget), s.Indices);
            SelectionAssert.WellFormed(s, c, budget);
            Assert.Equal(0, s.Counts.SuppressedByNms);
        }));
    }

    [Fact]
    public void Positive_fraction_equals_the_naive_reference_on_random_images()
    {
        var arb = (from pair in RoiCase.WithBudget.Generator
                   from f in Gen.Elements(0.0, 0.1, 0.25, 0.5, 1.0)
                   select (pair.Case, pair.Budget, f)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(arb, x =>
        {
            var (c, budget, f) = x;
            var s = new TopKSelector(new() { Budget = budget, PositiveFraction = f }).Select(c.Rois);
            Assert.Equal(NaiveReference.TopK(c, budget, f), s.Indices);
            SelectionAssert.WellFormed(s, c, budget);
        }));
    }
}
