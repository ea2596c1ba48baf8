using Microsoft.Extensions.Options;
using Ohem.Core.Selection;
using Ohem.Onnx.Scoring;
using Ohem.Protocol.V1;
using Ohem.Service.Mining;

namespace Ohem.Service.Tests;

public class BatchMinerTests
{
    private static (Jobs.JobRegistry Registry, BatchMiner Miner) Setup(TimeSpan? versionWait = null)
    {
        var options = new MinerOptions { VersionWait = versionWait ?? TimeSpan.FromSeconds(10) };
        var registry = TestJobs.Registry(options);
        registry.Register("job", TestJobs.Model(), null, false).Weights.Install(1, TestJobs.Weights(1));
        return (registry, new BatchMiner(registry, Options.Create(options)));
    }

    [Fact]
    public async Task Mining_selects_what_the_policy_selects_over_the_scorers_losses()
    {
        var (registry, miner) = Setup();
        using var _ = registry;
        var request = TestJobs.Request("job", 41, seed: 5);
        var response = await miner.MineAsync(request, new PolicyCache(), CancellationToken.None);
        Assert.Null(response.Error);
        Assert.Equal(41ul, response.BatchId);
        Assert.Equal(1ul, response.WeightsVersion);

        // Independently: score with the job's scorer, select with a fresh ohem policy.
        var job = registry.Get("job");
        var features = request.Features.Data.ToByteArray();
        var batch = new ScoringBatch(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(features).ToArray(), (2, 2, 9, 11),
            [.. request.Images.Select(i => new ImageRoiSet([.. i.Boxes], [.. i.Labels], [.. i.BoxTargets]))]);
        var losses = job.Scorer.Score(batch, 1).Losses;
        for (var i = 0; i < 2; i++)
        {
            var expected = new OhemSelector(new OhemOptions { Budget = 8 }).Select(new Core.Selection.ImageRois(
                batch.Images[i].Boxes, losses[i], batch.Images[i].Labels));
            Assert.Equal(expected.Indices, response.Images[i].Indices);
            Assert.Equal(expected.Indices.Select(k => losses[i][k]), response.Images[i].Losses);
            Assert.Equal((uint)expected.Counts.SuppressedByNms, response.Images[i].Counts.SuppressedByNms);
            var candidates = batch.Images[i].Labels.Select((l, k) => (l, k)).Where(x => x.l >= 0).Select(x => (double)losses[i][x.k]).ToArray();
            // MeanLoss is a float32: within half an ulp of the double mean, not equal to 4 decimals
            // when the mean sits on a rounding boundary.
            Assert.Equal(candidates.Average(), response.Images[i].MeanLoss, 1e-6 * Math.Max(1, Math.Abs(candidates.Average())));
        }

        Assert.Equal(1, job.BatchesMined);
    }

    [Theory]
    [InlineData("cls")]
    [InlineData("box")]
    public async Task A_requests_hardness_option_ranks_by_that_loss_term(string hardness)
    {
        var (registry, miner) = Setup();
        using var _ = registry;
        var request = TestJobs.Request("job", 3, seed: 5);
        request.Policy.Options["hardness"] = hardness;
        var response = await miner.MineAsync(request, new PolicyCache(), CancellationToken.None);
        Assert.Null(response.Error);

        var batch = new ScoringBatch(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(request.Features.Data.ToByteArray()).ToArray(), (2, 2, 9, 11),
            [.. request.Images.Select(i => new ImageRoiSet([.. i.Boxes], [.. i.Labels], [.. i.BoxTargets]))]);
        var scored = registry.Get("job").Scorer.Score(batch, 1);
        var terms = hardness == "cls" ? scored.ClassLosses : scored.BoxLosses;
        for (var i = 0; i < 2; i++)
        {
            // The term as the loss, ranked by the default policy: the same RoIs in the same order,
            // and the response still reports each RoI's whole loss.
            var expected = new OhemSelector(new OhemOptions { Budget = 8 }).Select(new Core.Selection.ImageRois(
                batch.Images[i].Boxes, terms[i], batch.Images[i].Labels));
            Assert.Equal(expected.Indices, response.Images[i].Indices);
            Assert.Equal(expected.Indices.Select(k => scored.Losses[i][k]), response.Images[i].Losses);
        }
    }

    [Fact]
    public async Task Float16_features_mine_like_their_float32_values()
    {
        var (registry, miner) = Setup();
        using var _ = registry;
        var half = TestJobs.Request("job", 1, seed: 8, dtype: DataType.Float16);
        var asFloat = half.Clone();
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(half.Features.Data.Span).ToArray().Select(h => (float)h).ToArray();
        asFloat.Features = new Tensor { Shape = { half.Features.Shape }, Dtype = DataType.Float32, Data = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        var a = await miner.MineAsync(half, new PolicyCache(), CancellationToken.None);
        var b = await miner.MineAsync(asFloat, new PolicyCache(), CancellationToken.None);
        Assert.Equal(b.Images.Select(i => i.Indices.ToArray()), a.Images.Select(i => i.Indices.ToArray()));
    }

    [Fact]
    public async Task A_failed_batch_carries_its_error_and_the_next_batch_is_mined()
    {
        var (registry, miner) = Setup(versionWait: TimeSpan.FromMilliseconds(50));
        using var _ = registry;
        var policies = new PolicyCache();
        async Task<BatchError?> Error(Action<MineRequest> spoil)
        {
            var request = TestJobs.Request("job", 7, seed: 2);
            spoil(request);
            return (await miner.MineAsync(request, policies, CancellationToken.None)).Error;
        }

        var unknownJob = await Error(r => r.JobId = "nope");
        Assert.Equal(5, unknownJob!.Code);
        Assert.Contains("batch 7: job \"nope\" is not registered", unknownJob.Message);
        var badShape = await Error(r => r.Features.Shape[1] = 3);
        Assert.Equal(3, badShape!.Code);
        Assert.Contains("features.data", badShape.Message);
        var badLabel = await Error(r => r.Images[1].Labels[4] = 9);
        Assert.Equal(3, badLabel!.Code);
        Assert.Contains("images[1].Labels", badLabel.Message);
        var badPolicy = await Error(r => r.Policy.Name = "hardest");
        Assert.Equal(3, badPolicy!.Code);
        Assert.Contains("ohem", badPolicy.Message); // lists the valid names
        var notYet = await Error(r => r.WeightsVersion = 5);
        Assert.Equal(9, notYet!.Code);
        Assert.Contains("held: 1", notYet.Message);

        Assert.Null(await Error(_ => { }));
    }

    /// <summary>Hostile inputs an adversarial client found (each once ended the whole stream
    /// UNKNOWN or was wrongly rejected): each now gets its own answer and the next batch is mined.</summary>
    [Fact]
    public async Task Hostile_batches_get_their_own_status_and_the_next_batch_is_mined()
    {
        var (registry, miner) = Setup();
        using var _ = registry;
        var policies = new PolicyCache();
        async Task<MineResponse> Mine(Action<MineRequest> spoil)
        {
            var request = TestJobs.Request("job", 9, seed: 3);
            spoil(request);
            return await miner.MineAsync(request, policies, CancellationToken.None);
        }

        // features.shape [4, 4, 2^30, 2^30]: its product wraps a long to 0, matching empty data.
        var wrapped = await Mine(r =>
        {
            r.Features.Shape.Clear();
            r.Features.Shape.Add([4, 4, 1L << 30, 1L << 30]);
            r.Features.Data = Google.Protobuf.ByteString.Empty;
        });
        Assert.Equal(3, wrapped.Error!.Code);
        Assert.Contains("features.shape", wrapped.Error.Message);

        // A window of 2^31 - 1 losses was an OutOfMemoryException in the policy's constructor.
        var window = await Mine(r => r.Policy = new SelectionPolicy { Name = "selective-backprop", Options = { ["windowSize"] = "2147483647" } });
        Assert.Equal(3, window.Error!.Code);
        Assert.Contains("windowSize", window.Error.Message);
        Assert.Contains(SelectiveBackpropOptions.MaxWindowSize.ToString(System.Globalization.CultureInfo.InvariantCulture), window.Error.Message);

        // An image without RoIs (a canvas with no proposals) was rejected as non-finite output.
        var empty = await Mine(r => r.Images[0] = new Protocol.V1.ImageRois());
        Assert.Null(empty.Error);
        Assert.Empty(empty.Images[0].Indices);
        Assert.NotEmpty(empty.Images[1].Indices);

        Assert.Null((await Mine(_ => { })).Error);
    }
}
