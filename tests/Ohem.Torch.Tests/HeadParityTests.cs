using FsCheck;
using FsCheck.Fluent;
using Ohem.Core;
using Ohem.Onnx;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Reference;
using Ohem.Testing;

namespace Ohem.Torch.Tests;

/// <summary>
/// The trainer's head on libtorch and the miner's scoring model on ONNX Runtime are the same
/// network: the head exported with RoiHeadExporter from <see cref="Detector.HeadWeights"/> and run
/// by ONNX Runtime on the same feature maps and RoIs gives the same outputs, and the trainer's
/// per-RoI losses equal Ohem.Core's RoiLoss on ONNX Runtime's outputs (what the miner ranks by).
/// </summary>
public class HeadParityTests
{
    private const float OutputTolerance = 1e-4f;

    private sealed record Batch(FeatureMaps Features, float[] FeatureValues, int Images, int[] RoisPerImage, float[] Rois, int[] Labels, float[] Targets);

    /// <summary>Random images through the backbone; per image a run of RoIs (so the miner's per-image batch matches).</summary>
    private static Batch MakeBatch(Detector detector, int images, int height, int width, int roisPerImage, int seed)
    {
        var rng = new Random(seed);
        var o = detector.Options;
        var features = detector.Backbone(TestData.Uniform(images * o.InputChannels * height * width, rng, -3f, 3f), images, height, width);
        var counts = Enumerable.Range(0, images).Select(_ => rng.Next(roisPerImage / 2, roisPerImage + 1)).ToArray();
        var rois = new List<float>();
        for (var i = 0; i < images; i++)
        {
            var own = TestData.Rois(counts[i], 1, width, height, rng);
            for (var r = 0; r < counts[i]; r++)
            {
                own[5 * r] = i;
            }

            rois.AddRange(own);
        }

        var total = counts.Sum();
        return new Batch(features, features.ToArray(), images, counts, [.. rois], TestData.Labels(total, o.NumClasses, rng),
            TestData.Uniform(4 * total, rng, -2f, 2f));
    }

    private static (float[] Cls, float[] Box) RunOnnxRuntime(byte[] model, Batch b, DetectorOptions o)
    {
        var r = b.Labels.Length;
        var cls = new float[r * (o.NumClasses + 1)];
        var box = new float[r * 4 * (o.NumClasses + 1)];
        using var session = OnnxSessions.Create(model);
        OnnxSessions.Run(
            session,
            new Dictionary<string, (float[], long[])>
            {
                [ScoringModel.Features] = (b.FeatureValues, [b.Features.Count, b.Features.Channels, b.Features.Height, b.Features.Width]),
                [ScoringModel.Rois] = (b.Rois, [r, 5]),
            },
            new Dictionary<string, (float[], long[])>
            {
                [ScoringModel.ClassScores] = (cls, [r, o.NumClasses + 1]),
                [ScoringModel.BoxDeltas] = (box, [r, 4 * (o.NumClasses + 1)]),
            });
        return (cls, box);
    }

    /// <summary>The miner's path: ScoringModel + WeightsVersionStore + RoiScorer (host RoI pooling, ONNX Runtime head).</summary>
    private static float[] MinerLosses(byte[] model, IReadOnlyDictionary<string, float[]> weights, Batch b)
    {
        using var store = new WeightsVersionStore(ScoringModel.Load(model));
        store.Install(1, weights);
        var images = new List<ImageRoiSet>();
        var offset = 0;
        foreach (var count in b.RoisPerImage)
        {
            var boxes = new float[4 * count];
            for (var r = 0; r < count; r++)
            {
                b.Rois.AsSpan(5 * (offset + r) + 1, 4).CopyTo(boxes.AsSpan(4 * r));
            }

            images.Add(new ImageRoiSet(boxes, b.Labels[offset..(offset + count)], b.Targets[(4 * offset)..(4 * (offset + count))]));
            offset += count;
        }

        var shape = (b.Features.Count, b.Features.Channels, b.Features.Height, b.Features.Width);
        return [.. new RoiScorer(store).Score(new ScoringBatch(b.FeatureValues, shape, images)).Losses.SelectMany(l => l)];
    }

    /// <summary>Checks every parity claim for one detector and batch.</summary>
    private static void AssertParity(DetectorOptions options, int height, int width, int roisPerImage, int seed)
    {
        using var detector = Detector.Create(options);
        TestData.RandomizeHead(detector, seed);
        var b = MakeBatch(detector, 2, height, width, roisPerImage, seed);
        using var features = b.Features;
        var r = b.Labels.Length;
        var k = options.NumClasses;

        var cls = new float[r * (k + 1)];
        var box = new float[r * 4 * (k + 1)];
        detector.InferHead(features, b.Rois, cls, box);

        var weights = detector.HeadWeights();
        var model = RoiHeadExporter.Export(TestData.Spec(options), weights);
        var (ortCls, ortBox) = RunOnnxRuntime(model, b, options);
        Assert.True(TestData.MaxAbsDifference(cls, ortCls) <= OutputTolerance, $"cls_score differs by {TestData.MaxAbsDifference(cls, ortCls)} ({options})");
        Assert.True(TestData.MaxAbsDifference(box, ortBox) <= OutputTolerance, $"bbox_pred differs by {TestData.MaxAbsDifference(box, ortBox)} ({options})");
        Assert.True(cls.Select(MathF.Abs).Max() > 0.1f, "the logits are not trivially small"); // the comparison has teeth

        var perRoi = new float[r];
        var loss = detector.TrainHead(features, b.Rois, b.Labels, b.Targets, [], perRoi);
        var onOrt = new float[r];
        RoiLoss.Compute(ortCls, ortBox, b.Labels, b.Targets, k, onOrt);
        var onOwn = new float[r];
        RoiLoss.Compute(cls, box, b.Labels, b.Targets, k, onOwn);
        var miner = MinerLosses(model, weights, b);
        for (var i = 0; i < r; i++)
        {
            var scale = Math.Max(1f, Math.Abs(onOrt[i]));
            Assert.True(Math.Abs(perRoi[i] - onOwn[i]) <= 1e-5f * scale, $"RoI {i}: trainer {perRoi[i]}, RoiLoss on libtorch's outputs {onOwn[i]}");
            Assert.True(Math.Abs(perRoi[i] - onOrt[i]) <= 1e-4f * scale, $"RoI {i}: trainer {perRoi[i]}, RoiLoss on ONNX Runtime's outputs {onOrt[i]}");
            Assert.True(Math.Abs(perRoi[i] - miner[i]) <= 1e-4f * scale, $"RoI {i}: trainer {perRoi[i]}, miner {miner[i]}");
        }

        var counted = b.Labels.Count(l => l >= 0);
        Assert.Equal(perRoi.Sum() / Math.Max(counted, 1), loss, 1e-4f * Math.Max(1f, loss));
    }

    [Fact]
    public void Default_detector_on_128x128_images_matches_onnx_runtime() =>
        AssertParity(new DetectorOptions(), 128, 128, 150, seed: 5);

    [Fact]
    public void Random_small_detectors_match_onnx_runtime()
    {
        var cases =
            from stride in Gen.Elements(1, 2, 4, 8)
            from pooled in Gen.Choose(1, 4)
            from hidden in Gen.Elements<int[]>([], [8], [16, 12])
            from k in Gen.Choose(1, 4)
            from channels in Gen.Choose(1, 3)
            from height in Gen.Choose(8, 40)
            from width in Gen.Choose(8, 40)
            from seed in Gen.Choose(0, 10_000)
            select (Options: new DetectorOptions
            {
                InputChannels = channels,
                BackboneChannels = [3, 5, 6],
                Stride = stride,
                PooledSize = pooled,
                HiddenSizes = hidden,
                NumClasses = k,
                Seed = seed,
            }, Height: height, Width: width, Seed: seed);
        Properties.Check(Prop.ForAll(cases.ToArbitrary(), c =>
        {
            AssertParity(c.Options, c.Height, c.Width, 20, c.Seed);
            return true;
        }), 15);
    }

    [TorchFact]
    public void Per_roi_losses_equal_pytorch_eager_with_torchvision_roi_pool()
    {
        // An independent implementation of the whole head and loss (torchvision's roi_pool has
        // the same Caffe semantics as ONNX MaxRoiPool).
        var options = TestData.Small(seed: 21);
        using var detector = Detector.Create(options);
        TestData.RandomizeHead(detector, 21);
        var b = MakeBatch(detector, 2, 36, 44, 60, seed: 22);
        using var features = b.Features;
        var spec = TestData.Spec(options);
        var weights = detector.HeadWeights();
        var (torchLoss, _, _) = TorchReference.Head(
            (features.Count, features.Channels, features.Height, features.Width), options.PooledSize, options.PooledSize,
            options.SpatialScale, [.. options.HiddenSizes], options.NumClasses,
            [.. RoiHeadExporter.Weights(spec).Select(w => weights[w.Name])], b.FeatureValues, b.Rois, b.Labels, b.Targets, repeats: 1, threads: 2);
        var perRoi = new float[b.Labels.Length];
        detector.TrainHead(features, b.Rois, b.Labels, b.Targets, [], perRoi);
        for (var i = 0; i < perRoi.Length; i++)
        {
            Assert.True(Math.Abs(perRoi[i] - torchLoss[i]) <= 1e-5f * Math.Max(1f, Math.Abs(torchLoss[i])), $"RoI {i}: ours {perRoi[i]}, PyTorch {torchLoss[i]}");
        }
    }
}
