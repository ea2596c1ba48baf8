using System.Collections.Concurrent;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;

namespace Ohem.Onnx.Tests.Scoring;

public class RoiScorerTests
{
    /// <summary>
    /// A head whose outputs can be worked out by hand: C = 1, pooled 1x1 at scale 1, so the pooled
    /// value is the max of the RoI's region; fc6 passes it through (weight 1, ReLU); class 1's
    /// logit is that value, class 0's is 0; class 1's box deltas are the bias (0.5, -2, 0, 1).
    /// </summary>
    private static (ScoringModel Model, Dictionary<string, float[]> Weights) HandHead()
    {
        var spec = new RoiHeadSpec(1, 1, 1, 1f, [1], 1);
        var weights = new Dictionary<string, float[]>
        {
            ["fc6.weight"] = [1f], ["fc6.bias"] = [0f],
            ["cls_score.weight"] = [0f, 1f], ["cls_score.bias"] = [0f, 0f],
            ["bbox_pred.weight"] = new float[8], ["bbox_pred.bias"] = [9, 9, 9, 9, 0.5f, -2, 0, 1],
        };
        return (ScoringModel.Load(RoiHeadExporter.Export(spec, weights)), weights);
    }

    [Fact]
    public void Known_answer_losses_per_image_from_each_images_own_map()
    {
        var (model, weights) = HandHead();
        using var store = new WeightsVersionStore(model);
        store.Install(1, weights);
        // Two 1x4x4 maps: image 0 is all 1 with a 3 at (y=1, x=2); image 1 is all 0 with a 5 at (3, 3).
        var features = new float[32];
        Array.Fill(features, 1f, 0, 16);
        features[1 * 4 + 2] = 3f;
        features[16 + 3 * 4 + 3] = 5f;
        var batch = new ScoringBatch(features, (2, 1, 4, 4),
        [
            // Image 0: a RoI over the 3 (label 1), one away from it (label 0), one ignored.
            new ImageRoiSet([1, 0, 3, 2, 0, 2, 1, 3, 0, 0, 3, 3], [1, 0, -1], new float[12]),
            // Image 1: the whole map (label 0): max 5 from image 1's map, not image 0's 3.
            new ImageRoiSet([0, 0, 3, 3], [0], new float[4]),
        ]);
        var result = new RoiScorer(store).Score(batch);
        static double Ce(double logit1, int label) => Math.Log(1 + Math.Exp(logit1)) - (label == 1 ? logit1 : 0);
        const double box = 0.125 + 1.5 + 0 + 0.5; // smooth-L1 of (0.5, -2, 0, 1) against targets 0
        Assert.Equal(1ul, result.Version);
        // Float32 losses (vectorised exp and sum: the last bits depend on the CPU) against double
        // answers, to a few ulps: not to 5 decimals, as ln(1 + e^5) = 5.00671535 is 0.7 ulp above
        // the rounding boundary 5.006715.
        const double tolerance = 1e-5;
        Assert.Equal(Ce(3, 1) + box, result.Losses[0][0], tolerance);
        Assert.Equal(Ce(1, 0), result.Losses[0][1], tolerance);
        Assert.Equal(0f, result.Losses[0][2]);
        Assert.Equal(Ce(5, 0), result.Losses[1][0], tolerance);
        // The terms policies may rank by: the box term only for the labelled foreground RoI.
        Assert.Equal(Ce(3, 1), result.ClassLosses[0][0], tolerance);
        Assert.Equal(box, result.BoxLosses[0][0], tolerance);
        Assert.Equal([0f, 0f], result.BoxLosses[0][1..]);
        Assert.Equal(result.Losses[1], result.ClassLosses[1]);
        Assert.True(result.Timings.Run > TimeSpan.Zero);
    }

    [Fact]
    public void Malformed_batches_name_the_image_and_field_and_the_scorer_keeps_working()
    {
        using var store = new WeightsVersionStore(ScoringFixture.Model());
        store.Install(1, ScoringFixture.Weights(1));
        var scorer = new RoiScorer(store);
        var good = ScoringFixture.Batch(3);
        var expected = scorer.Score(good).Losses;

        string Reject(Func<ScoringBatch, ScoringBatch> spoil) =>
            Assert.Throws<ArgumentException>(() => scorer.Score(spoil(ScoringFixture.Batch(3)))).Message;

        Assert.Contains("needs", Reject(b => b with { Features = b.Features[1..] }));
        Assert.Contains("3 channels", Reject(b => b with { Shape = (2, 3, 9, 11), Features = new float[2 * 3 * 9 * 11] }));
        Assert.Contains("1 images of RoIs for 2 feature maps", Reject(b => b with { Images = [b.Images[0]] }));
        Assert.Contains("features of image 1", Reject(b =>
        {
            var f = b.Features.ToArray();
            f[2 * 9 * 11 + 5] = float.NaN;
            return b with { Features = f };
        }));
        Assert.Contains("images[1].Labels", Reject(b =>
        {
            b.Images[1].Labels[2] = 4;
            return b;
        }));
        Assert.Contains("images[0].Boxes", Reject(b =>
        {
            b.Images[0].Boxes[4 * 3 + 2] = b.Images[0].Boxes[4 * 3] - 1;
            return b;
        }));
        Assert.Contains("images[1].BoxTargets", Reject(b =>
            b with { Images = [b.Images[0], b.Images[1] with { BoxTargets = b.Images[1].BoxTargets[4..] }] }));

        Assert.Equal(expected.SelectMany(l => l), scorer.Score(good).Losses.SelectMany(l => l));
    }

    [Theory]
    [InlineData(4, 4, 1 << 30, 1 << 30)] // the product is 2^64: wrapped to 0, it matched empty features
    [InlineData(int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue)]
    [InlineData(2, 1, 1 << 16, 1 << 15)] // 2^32: fits a long, not the features
    public void A_shape_whose_element_count_overflows_is_named_and_the_scorer_keeps_working(int n, int c, int h, int w)
    {
        using var store = new WeightsVersionStore(ScoringFixture.Model());
        store.Install(1, ScoringFixture.Weights(1));
        var scorer = new RoiScorer(store);
        var good = ScoringFixture.Batch(3);
        var expected = scorer.Score(good).Losses;
        var spoiled = good with { Shape = (n, c, h, w), Features = Array.Empty<float>(), Images = [.. Enumerable.Repeat(good.Images[0], Math.Min(n, 4))] };

        var e = Assert.Throws<ArgumentException>(() => scorer.Score(spoiled));
        Assert.Contains("features.shape", e.Message, StringComparison.Ordinal);
        Assert.Equal(expected.SelectMany(l => l), scorer.Score(good).Losses.SelectMany(l => l));
    }

    [Fact]
    public void An_image_without_rois_gets_an_empty_loss_list_beside_a_scored_one()
    {
        using var store = new WeightsVersionStore(ScoringFixture.Model());
        store.Install(1, ScoringFixture.Weights(1));
        var scorer = new RoiScorer(store);
        var batch = ScoringFixture.Batch(3, perImage: 40);
        var alone = scorer.Score(batch).Losses[1];
        var emptyFirst = batch with { Images = [new ImageRoiSet([], [], []), batch.Images[1]] };

        var result = scorer.Score(emptyFirst);
        Assert.Empty(result.Losses[0]);
        Assert.Equal(alone, result.Losses[1]);
    }

    [Fact]
    public void A_non_finite_output_names_the_image()
    {
        var (model, weights) = HandHead();
        weights["fc6.weight"] = [3e38f];
        using var store = new WeightsVersionStore(model);
        store.Install(1, weights);
        var features = new float[32];
        features[16] = 10f; // only image 1's map overflows
        var batch = new ScoringBatch(features, (2, 1, 4, 4),
            [new ImageRoiSet([0, 0, 3, 3], [0], new float[4]), new ImageRoiSet([0, 0, 3, 3], [0], new float[4])]);
        var e = Assert.Throws<NonFiniteOutputException>(() => new RoiScorer(store).Score(batch));
        Assert.Contains("image 1", e.Message);
    }

    [Fact]
    public async Task Concurrent_scoring_while_versions_install_returns_exactly_the_reported_versions_output()
    {
        var model = ScoringFixture.Model();
        var batches = Enumerable.Range(0, 3).Select(i => ScoringFixture.Batch(100 + i, perImage: 40)).ToArray();
        var weights = Enumerable.Range(1, 24).ToDictionary(v => (ulong)v, v => ScoringFixture.Weights(1000 + v));
        var results = new ConcurrentBag<(int Batch, ulong? Pinned, ScoringResult Result)>();
        using (var store = new WeightsVersionStore(model, new WeightsStoreOptions { KeepVersions = 3 }))
        {
            store.Install(1, weights[1]);
            var scorer = new RoiScorer(store);
            using var done = new CancellationTokenSource();
            var scorers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
            {
                var rng = new Random(t);
                while (!done.IsCancellationRequested)
                {
                    var b = rng.Next(batches.Length);
                    ulong? pinned = rng.Next(2) == 0 ? null : store.Newest;
                    try
                    {
                        results.Add((b, pinned, scorer.Score(batches[b], pinned)));
                    }
                    catch (VersionNotHeldException)
                    {
                        // The pinned version was retired between choosing and scoring: allowed.
                    }
                }
            })).ToArray();
            try
            {
                // Each version goes in once the scorers have used the one before three times: the
                // scorings span the installs however the threads are scheduled.
                for (ulong v = 2; v <= 24; v++)
                {
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                    while (results.Count(r => r.Result.Version == v - 1) < 3)
                    {
                        Assert.True(DateTime.UtcNow < deadline, $"no three scorings with version {v - 1} within 30 s");
                        await Task.Delay(1);
                    }

                    store.Install(v, weights[v]);
                }
            }
            finally
            {
                await done.CancelAsync();
                await Task.WhenAll(scorers);
            }
        }

        Assert.True(results.Count > 50, $"only {results.Count} scorings ran");
        Assert.True(results.Select(r => r.Result.Version).Distinct().Count() > 5, "scorings did not span the installs");
        var expected = new Dictionary<(int, ulong), float[]>();
        foreach (var (b, pinned, result) in results)
        {
            if (pinned is { } p)
            {
                Assert.Equal(p, result.Version);
            }

            if (!expected.TryGetValue((b, result.Version), out var want))
            {
                using var alone = new WeightsVersionStore(model);
                alone.Install(result.Version, weights[result.Version]);
                want = [.. new RoiScorer(alone).Score(batches[b]).Losses.SelectMany(l => l)];
                expected[(b, result.Version)] = want;
            }

            Assert.Equal(want, result.Losses.SelectMany(l => l));
        }
    }
}
