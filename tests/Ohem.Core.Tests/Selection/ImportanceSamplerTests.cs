using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

public class ImportanceSamplerTests
{
    [Theory]
    [InlineData(1e-300, 0f)] // found by the option fuzzing: a zero loss plus a tiny smoothing
    [InlineData(0.0, 1e-44f)] // a confident RoI's loss underflowing to a denormal float
    public void Near_zero_weights_give_finite_importance_weights(double smoothing, float tinyLoss)
    {
        var c = RoiCase.Disjoint([tinyLoss, 1f], [0, 0]);
        var s = new ImportanceSampler(new() { Smoothing = smoothing }).Select(c.Rois);
        Assert.Equal(2, s.Indices.Length);
        Assert.All(s.Weights!, w => Assert.True(float.IsFinite(w), $"weight {w}"));
        var tiny = Array.IndexOf(s.Indices, 0);
        Assert.Equal(float.MaxValue, s.Weights![tiny]);
        Assert.True(float.IsFinite(s.Weights[tiny] * tinyLoss));
    }

    [Fact]
    public void Weights_are_one_over_n_p()
    {
        // Eligible: #0 (w 1), #1 (w 3), #3 (w 4); #2 has loss 0, #4 is ignored. N = 3, sum = 8.
        // p = 1/8, 3/8, 4/8, so 1 / (N p) = 8/3, 8/9, 8/12.
        var c = RoiCase.Disjoint([1f, 3f, 0f, 4f, 5f], [0, 1, 0, 2, -1]);
        var s = new ImportanceSampler(new() { Budget = 64 }).Select(c.Rois);

        Assert.Equal([0, 1, 3], s.Indices.Order());
        Assert.NotNull(s.Weights);
        var expected = new Dictionary<int, float> { [0] = 8f / 3, [1] = 8f / 9, [3] = 8f / 12 };
        for (var k = 0; k < s.Indices.Length; k++)
        {
            Assert.Equal(expected[s.Indices[k]], s.Weights[k], 5);
        }

        Assert.Equal(new SelectionCounts(4, 1, 0, 2, 1), s.Counts);
    }

    [Fact]
    public void Zero_losses_are_never_sampled_unless_smoothed()
    {
        var c = RoiCase.Disjoint([0f, 1f, 0f, 2f, 0f], [0, 0, 0, 0, 0]);
        var plain = new ImportanceSampler(new() { Budget = 4 });
        var smoothed = new ImportanceSampler(new() { Budget = 1, Smoothing = 1 });
        var smoothedHitsOnZero = 0;
        for (var call = 0; call < 500; call++)
        {
            Assert.Equal([1, 3], plain.Select(c.Rois).Indices.Order());
            smoothedHitsOnZero += smoothed.Select(c.Rois).Indices.Count(i => c.Losses[i] == 0f);
        }

        // With smoothing 1: w = 1, 2, 1, 3, 1, so a zero-loss RoI is drawn with probability 3/8.
        Assert.InRange(smoothedHitsOnZero, 500 * 3 / 8 - 60, 500 * 3 / 8 + 60);
    }

    [Fact]
    public void First_draw_frequency_is_proportional_to_loss()
    {
        // Budget 1: P(i) = w_i / sum w. For losses 1, 1, 1, 1, 10 the big one is drawn 10/14 of the
        // time. 5000 draws: sd = sqrt(5000 * 0.714 * 0.286) = 32, tolerance 150 (~ 4.7 sd).
        var c = RoiCase.Disjoint([1f, 1f, 1f, 1f, 10f], [0, 0, 1, 0, 0]);
        var sampler = new ImportanceSampler(new() { Budget = 1, Seed = 21 });
        var hits = new int[5];
        for (var call = 0; call < 5000; call++)
        {
            hits[sampler.Select(c.Rois).Indices.Single()]++;
        }

        Assert.InRange(hits[4], 5000 * 10 / 14 - 150, 5000 * 10 / 14 + 150);
        Assert.All(hits.Take(4), h => Assert.InRange(h, 5000 / 14 - 100, 5000 / 14 + 100));
    }

    [Fact]
    public void Weighted_single_draw_estimates_the_mean_loss()
    {
        // E[weight * loss] = sum_i p_i * loss_i / (N p_i) = mean loss, even with smoothing.
        var c = RoiCase.Disjoint([0f, 0.5f, 1f, 2f, 6.5f], [0, 0, 0, 1, 1]);
        var sampler = new ImportanceSampler(new() { Budget = 1, Smoothing = 0.5, Seed = 4 });
        var total = 0.0;
        const int calls = 20000;
        for (var call = 0; call < calls; call++)
        {
            var s = sampler.Select(c.Rois);
            total += s.Weights![0] * c.Losses[s.Indices[0]];
        }

        Assert.InRange(total / calls, 2.0 - 0.05, 2.0 + 0.05); // mean of 0, 0.5, 1, 2, 6.5 is 2
    }

    [Fact]
    public void Fewer_candidates_than_budget_returns_every_eligible_one()
    {
        var c = RoiCase.Disjoint([1f, 2f, 3f], [0, -1, 1]);
        Assert.Equal([0, 2], new ImportanceSampler().Select(c.Rois).Indices.Order());
    }

    [Fact]
    public void Random_images_meet_the_contract_and_the_weight_formula()
    {
        var arb = (from pair in RoiCase.WithBudget.Generator
                   from smoothing in Gen.Elements(0.0, 0.25, 2.0)
                   select (pair.Case, pair.Budget, smoothing)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(arb, x =>
        {
            var (c, budget, smoothing) = x;
            var s = new ImportanceSampler(new() { Budget = budget, Smoothing = smoothing }).Select(c.Rois);
            SelectionAssert.WellFormed(s, c, budget);

            var eligible = c.Candidates.Where(i => c.Losses[i] + smoothing > 0).ToArray();
            var sum = eligible.Sum(i => c.Losses[i] + smoothing);
            Assert.Equal(Math.Min(budget, eligible.Length), s.Indices.Length);
            Assert.All(s.Indices, i => Assert.Contains(i, eligible));
            for (var k = 0; k < s.Indices.Length; k++)
            {
                var p = (c.Losses[s.Indices[k]] + smoothing) / sum;
                Assert.Equal(1.0 / (eligible.Length * p), s.Weights![k], 1e-4 * (1.0 / (eligible.Length * p)));
            }
        }));
    }
}
