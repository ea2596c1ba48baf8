using Ohem.Trainer.Data;
using Ohem.Trainer.Tests.Support;

namespace Ohem.Trainer.Tests.Data;

public sealed class DetectionDatasetTests
{
    [NeedsFact(Needs.FashionMnist)]
    public void A_dataset_is_the_same_however_it_is_read()
    {
        var a = DetectionDataset.Create(DetectionSplit.Validation, 30, seed: 8);
        var b = DetectionDataset.Create(DetectionSplit.Validation, 30, seed: 8);
        var fromB = new ProposalSet[30];
        Parallel.For(0, 30, i => fromB[29 - i] = b.Proposals(29 - i));
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(a.Canvas(i).Pixels, b.Canvas(i).Pixels);
            Assert.Equal(a.Proposals(i).Boxes, fromB[i].Boxes);
            Assert.Equal(a.Proposals(i).Labels, fromB[i].Labels);
            Assert.Same(a.Canvas(i), a.Canvas(i)); // cached
            Assert.Same(fromB[i], b.Proposals(i));
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Splits_and_seeds_give_different_canvases()
    {
        var validation = DetectionDataset.Create(DetectionSplit.Validation, 5, seed: 1);
        var test = DetectionDataset.Create(DetectionSplit.Test, 5, seed: 1);
        var train = DetectionDataset.Create(DetectionSplit.Train, 5, seed: 1);
        var other = DetectionDataset.Create(DetectionSplit.Validation, 5, seed: 2);
        for (var i = 0; i < 5; i++)
        {
            Assert.NotEqual(validation.Canvas(i).Pixels, test.Canvas(i).Pixels);
            Assert.NotEqual(validation.Canvas(i).Pixels, train.Canvas(i).Pixels);
            Assert.NotEqual(validation.Canvas(i).Pixels, other.Canvas(i).Pixels);
            Assert.NotEqual(validation.Proposals(i).Boxes, other.Proposals(i).Boxes);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Indices_outside_the_dataset_are_rejected()
    {
        var data = DetectionDataset.Create(DetectionSplit.Test, 3, seed: 1);
        Assert.Equal(3, data.Count);
        Assert.Equal("index", Assert.Throws<ArgumentOutOfRangeException>(() => data.Canvas(3)).ParamName);
        Assert.Equal("index", Assert.Throws<ArgumentOutOfRangeException>(() => data.Proposals(-1)).ParamName);
        Assert.Equal("imageIndices", Assert.Throws<ArgumentOutOfRangeException>(() => TrainingBatches.Build(data, [0, 3])).ParamName);
        Assert.Equal("imageIndices", Assert.Throws<ArgumentException>(() => TrainingBatches.Build(data, [])).ParamName);
        Assert.Equal("split", Assert.Throws<ArgumentException>(() => DetectionDataset.Create((DetectionSplit)7, 3, 1)).ParamName);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void A_training_batch_lays_out_the_canvases_and_all_their_rois()
    {
        var data = SharedData.Train;
        int[] indices = [5, 2];
        var batch = TrainingBatches.Build(data, indices);
        var s = data.ImageSize;
        Assert.Equal(2, batch.Count);
        Assert.Equal(s, batch.Size);
        Assert.Equal(2 * s * s, batch.Images.Length);
        Assert.Equal(3, batch.ImageOffsets.Length);
        Assert.Equal(0, batch.ImageOffsets[0]);
        Assert.Equal(batch.RoiCount, batch.ImageOffsets[2]);
        Assert.Equal(5 * batch.RoiCount, batch.Rois.Length);

        for (var b = 0; b < 2; b++)
        {
            var canvas = data.Canvas(indices[b]);
            var set = data.Proposals(indices[b]);
            Assert.Equal(set.Count, batch.ImageOffsets[b + 1] - batch.ImageOffsets[b]);
            for (var p = 0; p < s * s; p++)
            {
                var pixel = (batch.Images[b * s * s + p] * TrainingBatches.PixelStd) + TrainingBatches.PixelMean;
                Assert.True(Math.Abs(pixel - canvas.Pixels[p]) < 1e-5, $"image {b} pixel {p}");
            }

            for (var k = 0; k < set.Count; k++)
            {
                var row = batch.ImageOffsets[b] + k;
                Assert.Equal(b, batch.Rois[5 * row]);
                Assert.Equal(set.Boxes.AsSpan(4 * k, 4).ToArray(), batch.Rois.AsSpan((5 * row) + 1, 4).ToArray());
                Assert.Equal(set.Labels[k], batch.Labels[row]);
                Assert.Equal(set.MaxOverlaps[k], batch.MaxOverlaps[row]);
                Assert.Equal(set.Targets.AsSpan(4 * k, 4).ToArray(), batch.Targets.AsSpan(4 * row, 4).ToArray());
            }
        }

        // Without ground truth (evaluation): the proposals only.
        var eval = TrainingBatches.Build(data, indices, includeGroundTruth: false);
        var g0 = data.Proposals(5).GroundTruthCount;
        Assert.Equal(data.Proposals(5).Count - g0, eval.ImageOffsets[1]);
        Assert.Equal(data.Proposals(5).ProposalBoxes[..4].ToArray(), eval.Rois.AsSpan(1, 4).ToArray());
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Normalised_training_images_have_about_zero_mean_and_unit_variance()
    {
        var data = SharedData.Train;
        double sum = 0, squares = 0;
        long n = 0;
        for (var i = 0; i < 200; i += 2)
        {
            foreach (var v in TrainingBatches.Build(data, [i, i + 1]).Images)
            {
                sum += v;
                squares += v * v;
                n++;
            }
        }

        var mean = sum / n;
        Assert.InRange(mean, -0.1, 0.1);
        Assert.InRange(Math.Sqrt((squares / n) - (mean * mean)), 0.9, 1.1);
    }
}
