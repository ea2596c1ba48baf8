using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Ohem.Protocol.V1;
using Ohem.Trainer.Data;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Mining;

/// <summary>
/// A <see cref="TrainingBatch"/> as a MineRequest, and a MineResponse as a <see cref="MinedBatch"/>:
/// the batch's RoIs are [R, 5] (batch index, x1, y1, x2, y2) over all images, the wire's are per
/// image [R_n, 4]; the miner's indices are per image, the trainer's global.
/// </summary>
internal static class MineMessages
{
    public static MineRequest Request(
        string jobId, SelectionPolicy policy, TrainingBatch batch, float[] features, int channels, int height, int width, ulong batchId, ulong minWeightsVersion)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(features);
        CheckBatch(batch);
        var expected = (long)batch.Count * channels * height * width;
        if (channels < 1 || height < 1 || width < 1 || features.Length != expected)
        {
            throw new ArgumentException(
                $"features has {features.Length} floats for [N={batch.Count}, C={channels}, H={height}, W={width}]; expected N*C*H*W = {expected} with C, H, W >= 1.",
                nameof(features));
        }

        var request = new MineRequest
        {
            JobId = jobId,
            BatchId = batchId,
            MinWeightsVersion = minWeightsVersion,
            Features = new Tensor
            {
                Shape = { batch.Count, channels, height, width },
                Dtype = DataType.Float32,
                Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(features.AsSpan())),
            },
            Policy = policy,
            ReturnLosses = true,
        };
        for (var n = 0; n < batch.Count; n++)
        {
            int start = batch.ImageOffsets[n], end = batch.ImageOffsets[n + 1];
            var image = new ImageRois();
            var boxes = new float[4 * (end - start)];
            for (var i = start; i < end; i++)
            {
                if (batch.Rois[5 * i] != n)
                {
                    throw new ArgumentException(
                        $"batch.Rois[{i}] has batch index {batch.Rois[5 * i]}; expected {n} (ImageOffsets puts RoI {i} in image {n}).", nameof(batch));
                }

                batch.Rois.AsSpan((5 * i) + 1, 4).CopyTo(boxes.AsSpan(4 * (i - start), 4));
            }

            image.Boxes.Add(boxes);
            image.Labels.Add(batch.Labels.AsSpan(start, end - start).ToArray());
            image.BoxTargets.Add(batch.Targets.AsSpan(4 * start, 4 * (end - start)).ToArray());
            image.MaxOverlaps.Add(batch.MaxOverlaps.AsSpan(start, end - start).ToArray());
            request.Images.Add(image);
        }

        return request;
    }

    /// <summary>
    /// The selection as the trainer uses it. A batch error becomes a <see cref="MinerBatchException"/>;
    /// an answer that does not fit the batch (wrong id, image count, an index out of range, a version
    /// below the one asked for) is a protocol violation: <see cref="InvalidDataException"/>.
    /// </summary>
    public static MinedBatch ToMinedBatch(TrainingBatch batch, MineRequest request, MineResponse response)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        if (response.Error is { } error)
        {
            throw new MinerBatchException(request.BatchId, (StatusCode)error.Code, error.Message);
        }

        if (response.BatchId != request.BatchId)
        {
            throw Violation(request, $"answered batch {response.BatchId}");
        }

        if (response.WeightsVersion < request.MinWeightsVersion)
        {
            throw Violation(request, $"was scored with weights version {response.WeightsVersion}, below min_weights_version {request.MinWeightsVersion}");
        }

        if (response.Images.Count != batch.Count)
        {
            throw Violation(request, $"has {response.Images.Count} images; the batch has {batch.Count}");
        }

        var indices = new List<int>();
        var losses = new List<float>();
        List<float>? weights = null;
        double lossSum = 0;
        long labelled = 0;
        for (var n = 0; n < batch.Count; n++)
        {
            var image = response.Images[n];
            int start = batch.ImageOffsets[n], count = batch.ImageOffsets[n + 1] - start;
            foreach (var index in image.Indices)
            {
                if ((uint)index >= (uint)count)
                {
                    throw Violation(request, $"selects index {index} in image {n}, which has {count} RoIs");
                }

                indices.Add(start + index);
            }

            if (image.Losses.Count != image.Indices.Count)
            {
                throw Violation(request, $"has {image.Losses.Count} losses for {image.Indices.Count} indices in image {n} (return_losses was set)");
            }

            losses.AddRange(image.Losses);
            if (image.Weights.Count != 0 && image.Weights.Count != image.Indices.Count)
            {
                throw Violation(request, $"has {image.Weights.Count} weights for {image.Indices.Count} indices in image {n}");
            }

            if (image.Weights.Count != 0 && weights is null)
            {
                weights = [.. Enumerable.Repeat(1f, indices.Count - image.Indices.Count)]; // images before: weight 1
            }

            weights?.AddRange(image.Weights.Count != 0 ? image.Weights : Enumerable.Repeat(1f, image.Indices.Count));

            // mean_loss is over the image's labelled RoIs: weight it by their count for the batch's mean.
            var imageLabelled = 0;
            foreach (var label in batch.Labels.AsSpan(start, count))
            {
                imageLabelled += label >= 0 ? 1 : 0;
            }

            lossSum += (double)image.MeanLoss * imageLabelled;
            labelled += imageLabelled;
        }

        var lossAll = labelled == 0 ? 0f : (float)(lossSum / labelled);
        return new MinedBatch([.. indices], weights?.ToArray(), lossAll, [.. losses], response.WeightsVersion);
    }

    private static void CheckBatch(TrainingBatch batch)
    {
        var r = batch.Labels.Length;
        if (batch.Count < 1 || batch.ImageOffsets.Length != batch.Count + 1 || batch.ImageOffsets[0] != 0 || batch.ImageOffsets[^1] != r)
        {
            throw new ArgumentException(
                $"batch.ImageOffsets has {batch.ImageOffsets.Length} entries from {batch.ImageOffsets.FirstOrDefault()} to {batch.ImageOffsets.LastOrDefault()}; "
                + $"expected Count + 1 = {batch.Count + 1} from 0 to R = {r}.", nameof(batch));
        }

        for (var n = 0; n < batch.Count; n++)
        {
            if (batch.ImageOffsets[n + 1] < batch.ImageOffsets[n])
            {
                throw new ArgumentException($"batch.ImageOffsets[{n + 1}] = {batch.ImageOffsets[n + 1]} is below ImageOffsets[{n}] = {batch.ImageOffsets[n]}; expected non-decreasing.", nameof(batch));
            }
        }

        if (batch.Rois.Length != 5 * r || batch.Targets.Length != 4 * r || batch.MaxOverlaps.Length != r)
        {
            throw new ArgumentException(
                $"batch has {r} labels, {batch.Rois.Length} RoI floats, {batch.Targets.Length} target floats and {batch.MaxOverlaps.Length} overlaps; "
                + $"expected R, 5R, 4R and R.", nameof(batch));
        }
    }

    private static InvalidDataException Violation(MineRequest request, string what) =>
        new($"the miner's response to batch {request.BatchId} {what}.");
}
