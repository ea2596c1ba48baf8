using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using Grpc.Core;
using Ohem.Protocol.V1;
using Ohem.Testing;
using Ohem.Trainer.Data;
using Ohem.Trainer.Mining;

namespace Ohem.Trainer.Tests.Mining;

/// <summary>The batch as the wire wants it, and the miner's answer as the trainer uses it.</summary>
public sealed class MineMessagesTests
{
    private static readonly SelectionPolicy Ohem = new() { Name = "ohem", Options = { ["budget"] = "2" } };

    /// <summary>Images of <paramref name="perImage"/> RoIs each, every value distinct and traceable.</summary>
    private static TrainingBatch Batch(params int[] perImage)
    {
        var offsets = new int[perImage.Length + 1];
        for (var n = 0; n < perImage.Length; n++)
        {
            offsets[n + 1] = offsets[n] + perImage[n];
        }

        var r = offsets[^1];
        var rois = new float[5 * r];
        for (var n = 0; n < perImage.Length; n++)
        {
            for (var i = offsets[n]; i < offsets[n + 1]; i++)
            {
                rois[5 * i] = n;
                rois[(5 * i) + 1] = i;
                rois[(5 * i) + 2] = i + 0.25f;
                rois[(5 * i) + 3] = i + 2;
                rois[(5 * i) + 4] = i + 3.5f;
            }
        }

        return new TrainingBatch(
            perImage.Length, 8, new float[perImage.Length * 64], rois,
            [.. Enumerable.Range(0, r).Select(i => (i % 4) - 1)], // -1, 0, 1, 2, -1, ...
            [.. Enumerable.Range(0, 4 * r).Select(i => i / 100f)],
            [.. Enumerable.Range(0, r).Select(i => i / (float)(r + 1))],
            offsets);
    }

    private static MineRequest Request(TrainingBatch batch, ulong minVersion = 2) =>
        MineMessages.Request("job-1", Ohem, batch, new float[batch.Count * 3 * 2 * 2], 3, 2, 2, 17, minVersion);

    [Fact]
    public void A_batch_becomes_per_image_boxes_labels_targets_and_overlaps()
    {
        var batch = Batch(3, 2);
        var features = Enumerable.Range(0, 2 * 3 * 2 * 2).Select(i => i * 0.5f).ToArray();
        var request = MineMessages.Request("job-1", Ohem, batch, features, 3, 2, 2, 17, 5);

        Assert.Equal("job-1", request.JobId);
        Assert.Equal(17UL, request.BatchId);
        Assert.Equal(MineRequest.WeightsOneofCase.MinWeightsVersion, request.WeightsCase);
        Assert.Equal(5UL, request.MinWeightsVersion);
        Assert.True(request.ReturnLosses);
        Assert.Equal("ohem", request.Policy.Name);
        Assert.Equal("2", request.Policy.Options["budget"]);
        Assert.Equal([2L, 3, 2, 2], request.Features.Shape);
        Assert.Equal(DataType.Float32, request.Features.Dtype);
        Assert.Equal(features, MemoryMarshal.Cast<byte, float>(request.Features.Data.Span).ToArray());
        Assert.Equal(2, request.Images.Count);
        Assert.Equal([0f, 0.25f, 2, 3.5f, 1, 1.25f, 3, 4.5f, 2, 2.25f, 4, 5.5f], request.Images[0].Boxes);
        Assert.Equal([3f, 3.25f, 5, 6.5f, 4, 4.25f, 6, 7.5f], request.Images[1].Boxes);
        Assert.Equal([-1, 0, 1], request.Images[0].Labels);
        Assert.Equal([2, -1], request.Images[1].Labels);
        Assert.Equal(batch.Targets.AsSpan(12, 8).ToArray(), request.Images[1].BoxTargets);
        Assert.Equal(batch.MaxOverlaps.AsSpan(3, 2).ToArray(), request.Images[1].MaxOverlaps);
    }

    [Fact]
    public void Features_of_the_wrong_size_are_rejected_naming_the_shape()
    {
        var e = Assert.Throws<ArgumentException>(() => MineMessages.Request("j", Ohem, Batch(3, 2), new float[23], 3, 2, 2, 1, 1));
        Assert.Equal("features", e.ParamName);
        Assert.Contains("[N=2, C=3, H=2, W=2]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_RoI_in_the_wrong_image_is_rejected_naming_it()
    {
        var batch = Batch(3, 2);
        batch.Rois[5 * 3] = 0; // RoI 3 belongs to image 1
        var e = Assert.Throws<ArgumentException>(() => Request(batch));
        Assert.Contains("batch.Rois[3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_image_indices_become_global_and_the_loss_over_all_is_weighted_by_labelled_RoIs()
    {
        var batch = Batch(3, 2); // labelled: image 0 has 2 (labels -1, 0, 1), image 1 has 1 (2, -1)
        var request = Request(batch);
        var response = new MineResponse { BatchId = 17, WeightsVersion = 4 };
        response.Images.Add(new ImageSelection { Indices = { 2, 1 }, Losses = { 3f, 2f }, MeanLoss = 2.5f });
        response.Images.Add(new ImageSelection { Indices = { 0 }, Losses = { 7f }, MeanLoss = 7f });

        var mined = MineMessages.ToMinedBatch(batch, request, response);

        Assert.Equal([2, 1, 3], mined.Indices);
        Assert.Null(mined.Weights);
        Assert.Equal([3f, 2f, 7f], mined.SelectedLosses!);
        Assert.Equal(((2.5 * 2) + (7 * 1)) / 3, mined.LossAll!.Value, 6);
        Assert.Equal(4UL, mined.WeightsVersion);
    }

    [Fact]
    public void Weights_of_one_image_give_every_index_a_weight_1_elsewhere()
    {
        var batch = Batch(3, 2, 4);
        var response = new MineResponse { BatchId = 17, WeightsVersion = 2 };
        response.Images.Add(new ImageSelection { Indices = { 1, 2 }, Losses = { 1f, 1f } });
        response.Images.Add(new ImageSelection { Indices = { 1 }, Losses = { 1f }, Weights = { 0.5f } });
        response.Images.Add(new ImageSelection { Indices = { 3 }, Losses = { 1f } });

        var mined = MineMessages.ToMinedBatch(batch, Request(batch), response);

        Assert.Equal([1, 2, 4, 8], mined.Indices);
        Assert.Equal([1f, 1f, 0.5f, 1f], mined.Weights!);
    }

    [Fact]
    public void A_batch_error_becomes_an_exception_with_its_code_and_message()
    {
        var batch = Batch(3, 2);
        var response = new MineResponse { BatchId = 17, Error = new BatchError { Code = 3, Message = "batch 17: features has C=3; the model takes 16" } };
        var e = Assert.Throws<MinerBatchException>(() => MineMessages.ToMinedBatch(batch, Request(batch), response));
        Assert.Equal(StatusCode.InvalidArgument, e.Code);
        Assert.Equal(17UL, e.BatchId);
        Assert.Contains("the model takes 16", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, MineResponse> Violations()
    {
        static MineResponse Answer(ulong id, ulong version, params int[][] images)
        {
            var response = new MineResponse { BatchId = id, WeightsVersion = version };
            foreach (var indices in images)
            {
                response.Images.Add(new ImageSelection { Indices = { indices }, Losses = { indices.Select(_ => 1f) } });
            }

            return response;
        }

        var noLosses = Answer(17, 2, [0], [1]);
        noLosses.Images[1].Losses.Clear();
        return new()
        {
            { "answered batch 18", Answer(18, 2, [0], [1]) },
            { "below min_weights_version 2", Answer(17, 1, [0], [1]) },
            { "has 1 images", Answer(17, 2, [0]) },
            { "selects index 2 in image 1", Answer(17, 2, [0], [2]) },
            { "selects index -1 in image 0", Answer(17, 2, [-1], [0]) },
            { "has 0 losses for 1 indices in image 1", noLosses },
        };
    }

    [Theory]
    [MemberData(nameof(Violations))]
    public void An_answer_that_does_not_fit_the_batch_is_a_protocol_violation(string what, MineResponse response)
    {
        var batch = Batch(3, 2);
        var e = Assert.Throws<InvalidDataException>(() => MineMessages.ToMinedBatch(batch, Request(batch), response));
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Boxes_and_indices_round_trip_between_the_batch_and_the_wire()
    {
        var shapes = Gen.Choose(0, 12).ArrayOf().Where(a => a.Length is >= 1 and <= 5);
        Properties.Check(Prop.ForAll(shapes.ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (perImage, seed) =>
        {
            var batch = Batch(perImage);
            var request = Request(batch);
            var random = new Random(seed);

            // Every wire box, with its image index in front, is the batch's RoI row.
            var rows = request.Images.SelectMany((image, n) => image.Boxes.Chunk(4).Select(b => (float[])[n, .. b])).SelectMany(r => r);
            if (!rows.SequenceEqual(batch.Rois))
            {
                return false;
            }

            // Any per-image selection maps to global indices whose image and offset it came from.
            var response = new MineResponse { BatchId = 17, WeightsVersion = 2 };
            var chosen = perImage.Select(count => Enumerable.Range(0, count).Where(_ => random.Next(2) == 0).ToArray()).ToArray();
            foreach (var indices in chosen)
            {
                response.Images.Add(new ImageSelection { Indices = { indices }, Losses = { indices.Select(i => (float)i) } });
            }

            var mined = MineMessages.ToMinedBatch(batch, request, response);
            var expected = chosen.SelectMany((indices, n) => indices.Select(i => batch.ImageOffsets[n] + i));
            return mined.Indices.SequenceEqual(expected)
                && mined.SelectedLosses!.SequenceEqual(chosen.SelectMany(c => c.Select(i => (float)i)));
        }), maxTest: 100);
    }
}
