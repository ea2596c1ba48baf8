using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

public class SelectiveBackpropSelectorTests
{
    [Theory]
    // scipy.stats.percentileofscore([1, 2, 2, 3], v, kind="rank") / 100, worked by hand:
    // left = #(< v), right = #(<= v), (left + right + [right > left]) / (2 n).
    [InlineData(1f, 0.25)]   // (0 + 1 + 1) / 8
    [InlineData(2f, 0.625)]  // (1 + 3 + 1) / 8
    [InlineData(3f, 1.0)]    // (3 + 4 + 1) / 8
    [InlineData(2.5f, 0.75)] // (3 + 3 + 0) / 8
    [InlineData(0f, 0.0)]    // (0 + 0 + 0) / 8
    public void Percentile_is_scipy_rank_percentile(float value, double expected)
    {
        Assert.Equal(expected, SelectiveBackpropSelector.Percentile([1f, 2f, 2f, 3f], value), 12);
    }

    [Fact]
    public void Beta_zero_keeps_every_candidate_hardest_first()
    {
        var c = RoiCase.Disjoint([0.5f, 2f, 9f, 1f, 0f], [0, 1, -1, 0, 0]);
        var s = new SelectiveBackpropSelector(new() { Beta = 0 }).Select(c.Rois);
        Assert.Equal([1, 3, 0, 4], s.Indices);
        Assert.Equal(new SelectionCounts(4, 1, 0, 1, 3), s.Counts);
    }

    [Fact]
    public void Fewer_candidates_than_budget_keeps_them_all_by_default()
    {
        // Default: keep fraction min(1, 64 / 3) = 1, so beta = 0 and everything is kept.
        var c = RoiCase.Disjoint([0.1f, 0.3f, 0.2f], [0, 0, 1]);
        Assert.Equal([1, 2, 0], new SelectiveBackpropSelector().Select(c.Rois).Indices);
    }

    [Fact]
    public void The_window_forgets_old_losses()
    {
        // Image A: five losses of 100. Image B: losses 1..5, beta 20. With a window of 5, A is gone
        // when B is scored: B's loss 5 has percentile 1 and is always kept. With a window of 10,
        // its percentile is (4 + 5 + 1) / 20 = 0.5, kept with probability 0.5^20 ~ 1e-6.
        var a = RoiCase.Disjoint([100f, 100f, 100f, 100f, 100f], [0, 0, 0, 0, 0]);
        var b = RoiCase.Disjoint([1f, 2f, 3f, 4f, 5f], [0, 0, 0, 0, 0]);

        var small = new SelectiveBackpropSelector(new() { WindowSize = 5, Beta = 20 });
        small.Select(a.Rois);
        Assert.Contains(4, small.Select(b.Rois).Indices);
        Assert.Equal(5, small.WindowCount);

        var large = new SelectiveBackpropSelector(new() { WindowSize = 10, Beta = 20 });
        large.Select(a.Rois);
        Assert.Empty(large.Select(b.Rois).Indices);
        Assert.Equal(10, large.WindowCount);
    }

    [Fact]
    public void Ignored_rois_do_not_enter_the_window()
    {
        var sb = new SelectiveBackpropSelector(new() { WindowSize = 8 });
        sb.Select(RoiCase.Disjoint([1f, 2f, 3f, 4f, 5f, 6f], [0, -1, 1, -1, 0, 0]).Rois);
        Assert.Equal(4, sb.WindowCount);
        sb.Select(RoiCase.Disjoint([1f, 2f, 3f, 4f, 5f, 6f], [0, 0, 0, 0, 0, 0]).Rois);
        Assert.Equal(8, sb.WindowCount);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    public void Average_keep_fraction_matches_keepFraction(double keepFraction)
    {
        // 200 images x 500 iid uniform losses. The percentile is close to uniform, so E[keep] is
        // 1/(beta + 1) = f up to O(1/W). The sd of the mean is sqrt(f(1-f) / 1e5) <= 0.0016, so
        // 0.006 is >= 3.8 sd, and still tight enough to catch beta = 1/f (f = 0.1 gives 1/11).
        var sb = new SelectiveBackpropSelector(new() { KeepFraction = keepFraction, Seed = 3 });
        var losses = new Random(11);
        var kept = 0;
        for (var image = 0; image < 200; image++)
        {
            var c = RoiCase.Disjoint([.. Enumerable.Range(0, 500).Select(_ => (float)losses.NextDouble())], new int[500]);
            kept += sb.Select(c.Rois).Indices.Length;
        }

        Assert.InRange(kept / (200.0 * 500), keepFraction - 0.006, keepFraction + 0.006);
    }

    [Fact]
    public void Default_keeps_about_budget_per_image()
    {
        // 500 candidates, budget 64: f = 0.128, so about 64 kept per image; the per-image count has
        // sd <= 8, so the mean over 200 images has sd <= 0.6.
        var sb = new SelectiveBackpropSelector(new() { Seed = 5 });
        var losses = new Random(12);
        var kept = 0;
        for (var image = 0; image < 200; image++)
        {
            var c = RoiCase.Disjoint([.. Enumerable.Range(0, 500).Select(_ => (float)(losses.NextDouble() * 3))], new int[500]);
            kept += sb.Select(c.Rois).Indices.Length;
        }

        Assert.InRange(kept / 200.0, 64 - 2.5, 64 + 2.5);
    }

    [Fact]
    public void Higher_losses_are_kept_more_often()
    {
        // Losses are the ranks 0..499 of each image, shuffled; count keeps per loss quintile.
        var sb = new SelectiveBackpropSelector(new() { KeepFraction = 0.3, Seed = 9 });
        var shuffle = new Random(13);
        var perQuintile = new int[5];
        for (var image = 0; image < 100; image++)
        {
            var losses = Enumerable.Range(0, 500).Select(i => (float)i).OrderBy(_ => shuffle.Next()).ToArray();
            foreach (var i in sb.Select(RoiCase.Disjoint(losses, new int[500]).Rois).Indices)
            {
                perQuintile[(int)losses[i] / 100]++;
            }
        }

        for (var q = 1; q < 5; q++)
        {
            Assert.True(perQuintile[q] > perQuintile[q - 1], $"quintile keeps {string.Join(", ", perQuintile)}");
        }
    }

    [Fact]
    public void Random_images_meet_the_contract_and_come_back_hardest_first()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(RoiCase.WithBudget, x =>
        {
            var (c, budget) = x;
            var sb = new SelectiveBackpropSelector(new() { Budget = budget, WindowSize = 64 });
            for (var call = 0; call < 3; call++)
            {
                var s = sb.Select(c.Rois);
                SelectionAssert.WellFormed(s, c, budget: null); // no hard cap: the count is random
                Assert.Equal(SelectionAssert.HardestFirst(s.Indices, c.Losses), s.Indices);
            }
        }));
    }
}
