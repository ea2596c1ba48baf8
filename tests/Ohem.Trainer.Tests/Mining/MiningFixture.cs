using Ohem.Client;
using Ohem.Onnx.Export;
using Ohem.Torch;
using Ohem.Trainer.Data;
using Ohem.Trainer.Mining;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Mining;

/// <summary>A small real detector, real canvases with proposals, and in-process mining to compare the miner with.</summary>
internal sealed class MiningFixture : IDisposable
{
    public const string Policy = "ohem";

    public const int BudgetPerImage = 16;

    private static readonly Lazy<DetectionDataset> Data = new(() =>
        DetectionDataset.Create(DetectionSplit.Train, 8, seed: 3, proposals: new ProposalOptions { Count = 300 }));

    public MiningFixture()
    {
        Detector = Detector.Create(new DetectorOptions { BackboneChannels = [8, 16], Stride = 4, HiddenSizes = [32], Seed = 5 });
        InProcess = new InProcessMiner(Detector, Policy, PolicyOptions, BudgetPerImage, seed: 1);
    }

    public static IReadOnlyDictionary<string, string> PolicyOptions { get; } =
        MiningPolicy.Options(Policy, new Dictionary<string, string>(), BudgetPerImage, seed: 1);

    public Detector Detector { get; }

    public InProcessMiner InProcess { get; }

    public RoiHeadSpec Spec => DetectorHead.Spec(Detector.Options);

    /// <summary>Canvases <paramref name="first"/> and the next, with their proposals.</summary>
    public static TrainingBatch Batch(int first) => TrainingBatches.Build(Data.Value, [first, first + 1]);

    /// <summary>Client settings for loopback: one quick retry, no circuit breaker, deadlines that only a hung call reaches.</summary>
    public static MinerClientOptions Client(params Uri[] miners) => new()
    {
        Endpoints = [.. miners.Select(m => m.ToString())],
        MaxRetries = 1,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        RetryMaxDelay = TimeSpan.FromMilliseconds(50),
        CallTimeout = TimeSpan.FromSeconds(30),
        CircuitMinimumThroughput = 1000,
    };

    public FeatureMaps Backbone(TrainingBatch batch) => Detector.Backbone(batch.Images, batch.Count, batch.Size, batch.Size);

    /// <summary>One SGD step on every RoI of <paramref name="batch"/>: the head's weights change.</summary>
    public void Train(TrainingBatch batch, float learningRate = 0.1f)
    {
        using var features = Backbone(batch);
        Detector.TrainHead(features, batch.Rois, batch.Labels, batch.Targets, [], new float[batch.RoiCount]);
        Detector.Step(learningRate);
    }

    /// <summary>Replaces the head's weights (RoiHeadExporter's names).</summary>
    public void SetHead(IReadOnlyDictionary<string, float[]> weights)
    {
        foreach (var (name, values) in weights)
        {
            Detector.SetParameter(name, values);
        }
    }

    /// <summary>
    /// The miner's selection equals in-process mining's for the same weights and features: the same
    /// RoIs per image, and their losses and the loss over all RoIs bit for bit (both paths score with
    /// the same RoiScorer on ONNX Runtime).
    /// </summary>
    public void AssertMinedAlike(FeatureMaps features, TrainingBatch batch, MinedBatch remote, ulong version)
    {
        Assert.Equal(version, remote.WeightsVersion);
        var losses = InProcess.Score(features, batch);
        var local = InProcess.Select(batch, losses, losses.Total);
        for (var n = 0; n < batch.Count; n++)
        {
            int start = batch.ImageOffsets[n], end = batch.ImageOffsets[n + 1];
            Assert.Equal(
                local.Indices.Where(i => i >= start && i < end).Order(),
                remote.Indices.Where(i => i >= start && i < end).Order());
        }

        Assert.Equal(batch.Count * BudgetPerImage, remote.Indices.Length);
        Assert.Null(remote.Weights);
        for (var i = 0; i < remote.Indices.Length; i++)
        {
            Assert.Equal(losses.Total[remote.Indices[i]], remote.SelectedLosses![i]);
        }

        Assert.Equal(local.LossAll!.Value, remote.LossAll!.Value);
    }

    public void Dispose()
    {
        InProcess.Dispose();
        Detector.Dispose();
    }
}
