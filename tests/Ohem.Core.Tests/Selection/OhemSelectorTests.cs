using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

public class OhemSelectorTests
{
    [Fact]
    public void Overlapping_boxes_keep_only_the_harder_one()
    {
        // (0,0,10,10) vs (0,0,10,11): inter 100, union 100 + 110 - 100 = 110, IoU 0.909 > 0.7.
        var c = RoiCase.From(
            (0, 0, 10, 10, 1f, 0, 0),
            (0, 0, 10, 11, 2f, 1, 0),
            (50, 50, 60, 60, 0.5f, 0, 0));

        var s = new OhemSelector().Select(c.Rois);

        Assert.Equal([1, 2], s.Indices);
        Assert.Null(s.Weights);
        Assert.Equal(new SelectionCounts(Candidates: 3, Ignored: 0, SuppressedByNms: 1, Foreground: 1, Background: 1), s.Counts);
    }

    [Fact]
    public void Per_class_nms_keeps_overlapping_boxes_of_different_labels()
    {
        var differentLabels = RoiCase.From((0, 0, 10, 10, 1f, 1, 0), (0, 0, 10, 11, 2f, 2, 0));
        var sameLabel = RoiCase.From((0, 0, 10, 10, 1f, 2, 0), (0, 0, 10, 11, 2f, 2, 0));

        Assert.Equal([1, 0], new OhemSelector(new() { PerClass = true }).Select(differentLabels.Rois).Indices);
        Assert.Equal([1], new OhemSelector(new() { PerClass = false }).Select(differentLabels.Rois).Indices);
        Assert.Equal([1], new OhemSelector(new() { PerClass = true }).Select(sameLabel.Rois).Indices);
    }

    [Fact]
    public void Budget_truncates_to_the_hardest_and_ties_go_to_the_lower_index()
    {
        var c = RoiCase.Disjoint([3f, 1f, 4f, 1f, 5f], [0, 0, 1, 0, 2]);
        var s = new OhemSelector(new() { Budget = 3 }).Select(c.Rois);
        Assert.Equal([4, 2, 0], s.Indices);
        Assert.Equal(0, s.Counts.SuppressedByNms);

        var ties = RoiCase.Disjoint([2f, 2f, 2f], [0, 0, 0]);
        Assert.Equal([0, 1], new OhemSelector(new() { Budget = 2 }).Select(ties.Rois).Indices);
    }

    [Fact]
    public void Ignored_rois_are_never_selected_and_never_suppress()
    {
        // The ignored RoI is the hardest and overlaps the candidate at IoU 0.91.
        var c = RoiCase.From((0, 0, 10, 10, 9f, -1, 0), (0, 0, 10, 11, 1f, 0, 0));

        var s = new OhemSelector().Select(c.Rois);

        Assert.Equal([1], s.Indices);
        Assert.Equal(new SelectionCounts(1, 1, 0, 0, 1), s.Counts);
    }

    [Fact]
    public void Suppression_needs_iou_strictly_above_the_threshold()
    {
        // (0,0,10,10) vs (0,0,10,20): inter 100, union 200, IoU exactly 0.5.
        var c = RoiCase.From((0, 0, 10, 10, 2f, 0, 0), (0, 0, 10, 20, 1f, 0, 0));

        Assert.Equal([0, 1], new OhemSelector(new() { IouThreshold = 0.5f }).Select(c.Rois).Indices);
        Assert.Equal([0], new OhemSelector(new() { IouThreshold = 0.49f }).Select(c.Rois).Indices);
    }

    [Fact]
    public void Fewer_candidates_than_budget_returns_all_survivors()
    {
        var c = RoiCase.Disjoint([1f, 3f, 2f], [0, -1, 1]);
        var s = new OhemSelector(new() { Budget = 64 }).Select(c.Rois);
        Assert.Equal([2, 0], s.Indices);
    }

    [Fact]
    public void Empty_and_all_ignored_inputs_give_empty_selections()
    {
        Assert.Empty(new OhemSelector().Select(RoiCase.Disjoint([], []).Rois).Indices);
        var allIgnored = new OhemSelector().Select(RoiCase.Disjoint([1f, 2f], [-1, -1]).Rois);
        Assert.Empty(allIgnored.Indices);
        Assert.Equal(new SelectionCounts(0, 2, 0, 0, 0), allIgnored.Counts);
    }

    [Fact]
    public void Equals_the_naive_reference_on_random_images()
    {
        var arb = (from pair in RoiCase.WithBudget.Generator
                   from t in Gen.Elements(0f, 0.3f, 0.5f, 0.7f, 1f)
                   from perClass in Gen.Elements(false, true)
                   select (pair.Case, pair.Budget, t, perClass)).ToArbitrary();

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(arb, x =>
        {
            var (c, budget, t, perClass) = x;
            var s = new OhemSelector(new() { Budget = budget, IouThreshold = t, PerClass = perClass }).Select(c.Rois);

            Assert.Equal(NaiveReference.Ohem(c, t, budget, perClass), s.Indices);
            Assert.Equal(c.Candidates.Count() - NaiveReference.OhemSurvivors(c, t, perClass), s.Counts.SuppressedByNms);
            SelectionAssert.WellFormed(s, c, budget);
        }));
    }

    [Fact]
    public void No_two_selected_boxes_overlap_above_the_threshold()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(RoiCase.WithBudget, x =>
        {
            var (c, budget) = x;
            var s = new OhemSelector(new() { Budget = budget }).Select(c.Rois);
            foreach (var a in s.Indices)
            {
                foreach (var b in s.Indices.Where(b => b != a))
                {
                    Assert.False(NaiveReference.Overlap(c, a, b) > 0.7f, $"RoIs {a} and {b} overlap above 0.7");
                }
            }
        }));
    }
}
