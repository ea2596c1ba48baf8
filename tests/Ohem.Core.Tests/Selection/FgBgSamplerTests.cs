using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

public class FgBgSamplerTests
{
    /// <summary>
    /// 0..39 fg (label 1, IoU 0.7); 40..139 bg (label 0, IoU 0.3); 140..159 below bg_lo (label 0,
    /// IoU 0.05); 160..169 ignored (label -1, IoU 0.8); 170..179 label 0 with IoU 0.6 (neither);
    /// 180..189 label 2 with IoU 0.3 (neither: a labelled object is never background).
    /// </summary>
    private static RoiCase RichPool()
    {
        var groups = new (int Count, int Label, float Overlap)[] { (40, 1, 0.7f), (100, 0, 0.3f), (20, 0, 0.05f), (10, -1, 0.8f), (10, 0, 0.6f), (10, 2, 0.3f) };
        var labels = groups.SelectMany(g => Enumerable.Repeat(g.Label, g.Count)).ToArray();
        var overlaps = groups.SelectMany(g => Enumerable.Repeat(g.Overlap, g.Count)).ToArray();
        var losses = Enumerable.Range(0, labels.Length).Select(i => (float)i).ToArray();
        return RoiCase.Disjoint(losses, labels, overlaps);
    }

    [Fact]
    public void Rich_pool_gives_16_fg_then_48_bg_and_honours_bg_lo()
    {
        var c = RichPool();
        var sampler = new FgBgSampler();
        for (var call = 0; call < 50; call++)
        {
            var s = sampler.Select(c.Rois);

            Assert.Equal(64, s.Indices.Length);
            Assert.All(s.Indices.Take(16), i => Assert.InRange(i, 0, 39));
            Assert.All(s.Indices.Skip(16), i => Assert.InRange(i, 40, 139));
            Assert.Equal(new SelectionCounts(Candidates: 180, Ignored: 10, SuppressedByNms: 0, Foreground: 16, Background: 48), s.Counts);
            Assert.Null(s.Weights);
            SelectionAssert.WellFormed(s, c, 64);
        }
    }

    [Theory]
    [InlineData(6, 2)]  // 6 x 0.25 = 1.5 rounds half to even: 2 (np.round)
    [InlineData(10, 2)] // 2.5 -> 2
    [InlineData(2, 0)]  // 0.5 -> 0
    [InlineData(64, 16)]
    public void Foreground_quota_rounds_half_to_even_like_numpy(int budget, int expectedFg)
    {
        var s = new FgBgSampler(new() { Budget = budget }).Select(RichPool().Rois);
        Assert.Equal(expectedFg, s.Counts.Foreground);
        Assert.Equal(budget - expectedFg, s.Counts.Background);
    }

    [Fact]
    public void Background_fills_when_foreground_runs_short()
    {
        var c = RoiCase.Disjoint(
            new float[100],
            [.. Enumerable.Range(0, 100).Select(i => i < 3 ? 1 : 0)],
            [.. Enumerable.Range(0, 100).Select(i => i < 3 ? 0.9f : 0.2f)]);
        var s = new FgBgSampler().Select(c.Rois);
        Assert.Equal((3, 61), (s.Counts.Foreground, s.Counts.Background));
    }

    [Fact]
    public void Thresholds_are_fg_at_or_above_and_bg_in_half_open_range()
    {
        // #0 label 0 at 0.5: not bg (bg < 0.5). #1 label 0 at 0.1: bg (>= bg_lo). #2 label 1 at 0.5: fg.
        // #3 label 0 at 0.0999: below bg_lo.
        var c = RoiCase.Disjoint([1f, 1f, 1f, 1f], [0, 0, 1, 0], [0.5f, 0.1f, 0.5f, 0.0999f]);
        var s = new FgBgSampler().Select(c.Rois);
        Assert.Equal([2, 1], s.Indices);
    }

    [Fact]
    public void Missing_max_overlaps_is_rejected_by_name()
    {
        var c = RoiCase.Disjoint([1f], [0]);
        var error = Assert.Throws<ArgumentException>(() => new FgBgSampler().Select(new ImageRois(c.Boxes, c.Losses, c.Labels)));
        Assert.Equal("MaxOverlaps", error.ParamName);
    }

    [Fact]
    public void Samples_uniformly_without_replacement()
    {
        // 40 fg, 16 taken per call: each fg RoI is in a sample with probability 16/40 = 0.4.
        // Over 4000 calls the count is Binomial(4000, 0.4): sd 31, so +-200 is > 6 sd.
        var c = RichPool();
        var sampler = new FgBgSampler(new() { Seed = 7 });
        var hits = new int[c.Count];
        const int calls = 4000;
        for (var call = 0; call < calls; call++)
        {
            foreach (var i in sampler.Select(c.Rois).Indices)
            {
                hits[i]++;
            }
        }

        Assert.All(Enumerable.Range(0, 40), i => Assert.InRange(hits[i], 1600 - 200, 1600 + 200));
        Assert.All(Enumerable.Range(40, 100), i => Assert.InRange(hits[i], 1920 - 200, 1920 + 200)); // 48/100
        Assert.All(Enumerable.Range(140, 50), i => Assert.Equal(0, hits[i]));
    }

    [Fact]
    public void Random_images_meet_the_contract_and_the_quota()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(RoiCase.WithBudget, x =>
        {
            var (c, budget) = x;
            var s = new FgBgSampler(new() { Budget = budget }).Select(c.Rois);
            SelectionAssert.WellFormed(s, c, budget);

            var fgPool = c.Candidates.Where(i => c.Labels[i] >= 1 && c.MaxOverlaps[i] >= 0.5f).ToHashSet();
            var bgPool = c.Candidates.Where(i => c.Labels[i] == 0 && c.MaxOverlaps[i] >= 0.1f && c.MaxOverlaps[i] < 0.5f).ToHashSet();
            var fgTake = Math.Min((int)Math.Round(budget * 0.25), fgPool.Count);
            var bgTake = Math.Min(budget - fgTake, bgPool.Count);
            Assert.Equal(fgTake + bgTake, s.Indices.Length);
            Assert.All(s.Indices.Take(fgTake), i => Assert.Contains(i, fgPool));
            Assert.All(s.Indices.Skip(fgTake), i => Assert.Contains(i, bgPool));
        }));
    }
}
