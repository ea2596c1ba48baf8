using Ohem.Onnx.Scoring;

namespace Ohem.Onnx.Tests.Scoring;

public class WeightsVersionStoreTests
{
    private static float[] Losses(RoiScorer scorer, ScoringBatch batch, ulong? version = null)
    {
        var result = scorer.Score(batch, version);
        return [.. result.Losses.SelectMany(l => l)];
    }

    [Fact]
    public void Keeps_the_newest_k_versions_and_scores_a_pinned_version_exactly()
    {
        using var store = new WeightsVersionStore(ScoringFixture.Model(), new WeightsStoreOptions { KeepVersions = 2 });
        var scorer = new RoiScorer(store);
        var batch = ScoringFixture.Batch(1);
        store.Install(1, ScoringFixture.Weights(11));
        var v1 = Losses(scorer, batch);
        store.Install(2, ScoringFixture.Weights(12));
        var v2 = Losses(scorer, batch);
        Assert.NotEqual(v1, v2);
        Assert.Equal(v1, Losses(scorer, batch, 1));
        Assert.Equal(2ul, scorer.Score(batch).Version);

        store.Install(5, ScoringFixture.Weights(15));
        Assert.Equal([2ul, 5ul], store.Held.Select(h => h.Version));
        var gone = Assert.Throws<VersionNotHeldException>(() => scorer.Score(batch, 1));
        Assert.Equal([2ul, 5ul], gone.Held);
        Assert.Contains("held: 2, 5", gone.Message);
        Assert.Equal(v2, Losses(scorer, batch, 2));
    }

    [Fact]
    public void Reports_the_bytes_each_version_pins()
    {
        using var store = new WeightsVersionStore(ScoringFixture.Model());
        store.Install(1, ScoringFixture.Weights(1));
        var expected = store.Model.Weights.Sum(w => w.ElementCount) * sizeof(float);
        Assert.Equal(expected, store.Held.Single().Bytes);
        Assert.Equal(expected, store.BytesHeld);
    }

    public static TheoryData<string> BadSets => ["missing", "extra", "short", "nan", "stale", "equal"];

    [Theory]
    [MemberData(nameof(BadSets))]
    public void A_bad_install_is_rejected_whole_and_the_previous_version_keeps_serving(string how)
    {
        var model = ScoringFixture.Model();
        var bytes = model.Weights.Sum(w => w.ElementCount) * sizeof(float);
        using var store = new WeightsVersionStore(model, new WeightsStoreOptions { MaxBytes = 2 * bytes });
        var scorer = new RoiScorer(store);
        var batch = ScoringFixture.Batch(2);
        store.Install(3, ScoringFixture.Weights(3));
        store.Install(4, ScoringFixture.Weights(4));
        var before = Losses(scorer, batch);

        var weights = ScoringFixture.Weights(9);
        ulong version = 7;
        switch (how)
        {
            case "missing": weights.Remove("fc6.bias"); break;
            case "extra": weights["fc8.weight"] = [1f]; break;
            case "short": weights["cls_score.weight"] = weights["cls_score.weight"][1..]; break;
            case "nan": weights["bbox_pred.bias"][2] = float.NaN; break;
            case "stale": version = 3; break;
            case "equal": version = 4; break;
        }

        var e = Assert.ThrowsAny<Exception>(() => store.Install(version, weights));
        var expectedWords = how switch
        {
            "missing" => "fc6.bias",
            "extra" => "fc8.weight",
            "short" => "cls_score.weight",
            "nan" => "bbox_pred.bias",
            _ => "not above the newest held, 4",
        };
        Assert.Contains(expectedWords, e.Message);
        Assert.Equal([3ul, 4ul], store.Held.Select(h => h.Version));
        Assert.Equal(before, Losses(scorer, batch));
    }

    [Fact]
    public void An_install_over_the_byte_cap_is_rejected_and_changes_nothing()
    {
        var model = ScoringFixture.Model();
        var bytes = model.Weights.Sum(w => w.ElementCount) * sizeof(float);
        using var store = new WeightsVersionStore(model, new WeightsStoreOptions { KeepVersions = 3, MaxBytes = 2 * bytes });
        store.Install(1, ScoringFixture.Weights(1));
        store.Install(2, ScoringFixture.Weights(2));
        var e = Assert.Throws<WeightsCapacityException>(() => store.Install(3, ScoringFixture.Weights(3)));
        Assert.Contains("over the cap", e.Message);
        Assert.Equal([1ul, 2ul], store.Held.Select(h => h.Version));
    }

    [Fact]
    public async Task Waiting_for_a_version_ends_when_it_is_installed_or_fails_naming_the_versions_held()
    {
        using var store = new WeightsVersionStore(ScoringFixture.Model(), new WeightsStoreOptions { KeepVersions = 2 });
        store.Install(1, ScoringFixture.Weights(1));

        // Exact version 3 is installed while the request waits: it is scored with 3.
        var waiting = store.AcquireAsync(3, 0, TimeSpan.FromSeconds(20), CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        store.Install(2, ScoringFixture.Weights(2));
        Assert.False(waiting.IsCompleted);
        store.Install(3, ScoringFixture.Weights(3));
        using (var lease = await waiting)
        {
            Assert.Equal(3ul, lease.Version);
        }

        // At least 3: the newest (3) is fine at once.
        using (var lease = await store.AcquireAsync(null, 3, TimeSpan.Zero, CancellationToken.None))
        {
            Assert.Equal(3ul, lease.Version);
        }

        // Retired (1 < newest and gone): fails at once, without waiting out the timeout.
        var retired = await Assert.ThrowsAsync<VersionNotHeldException>(() => store.AcquireAsync(1, 0, TimeSpan.FromMinutes(5), CancellationToken.None));
        Assert.Equal([2ul, 3ul], retired.Held);

        // Not installed in time: says what is held and how long it waited.
        var late = await Assert.ThrowsAsync<VersionNotHeldException>(() => store.AcquireAsync(null, 9, TimeSpan.FromMilliseconds(50), CancellationToken.None));
        Assert.Contains("held: 2, 3", late.Message);
        Assert.Contains("waited", late.Message);
    }

    [Fact]
    public void Scoring_before_any_install_says_so() =>
        Assert.Contains("no weights version", Assert.Throws<VersionNotHeldException>(() =>
            new RoiScorer(new WeightsVersionStore(ScoringFixture.Model())).Score(ScoringFixture.Batch(1))).Message);
}
