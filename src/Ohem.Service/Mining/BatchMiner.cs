using System.Diagnostics;
using Microsoft.Extensions.Options;
using Ohem.Core.Selection;
using Ohem.Onnx.Scoring;
using Ohem.Protocol.V1;
using Ohem.Service.Jobs;
using WireRois = Ohem.Protocol.V1.ImageRois;

namespace Ohem.Service.Mining;

/// <summary>A batch after scoring, before selection.</summary>
/// <param name="Request">The batch as sent.</param>
/// <param name="Job">Its job (null when the batch named an unknown one).</param>
/// <param name="Images">Its RoIs, decoded.</param>
/// <param name="Scores">Every RoI's loss and the weights version used.</param>
/// <param name="Timings">Server time so far.</param>
/// <param name="Failure">Why the batch cannot be mined, when it cannot.</param>
internal sealed record ScoredBatch(MineRequest Request, Jobs.Job? Job, ImageRoiSet[] Images, ScoringResult? Scores, MineTimings? Timings, Exception? Failure);

/// <summary>
/// Mines one batch: decode, wait for the weights version, score every RoI with the job's model,
/// select per image with the requested policy. A batch that cannot be mined becomes a response
/// carrying its error (the stream's other batches go on).
/// </summary>
public sealed class BatchMiner(JobRegistry jobs, IOptions<MinerOptions> options)
{
    /// <summary>Mines one batch start to end (what a stream does in two steps).</summary>
    internal async Task<MineResponse> MineAsync(MineRequest request, PolicyCache policies, CancellationToken cancellationToken) =>
        Finish(await ScoreAsync(request, cancellationToken).ConfigureAwait(false), policies);

    /// <summary>
    /// Checks, decodes and scores one batch (waiting for its weights version). Batches of one
    /// stream are scored concurrently; <see cref="Finish"/> then runs in request order.
    /// </summary>
    internal async Task<ScoredBatch> ScoreAsync(MineRequest request, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        Job? job = null;
        try
        {
            job = jobs.Get(request.JobId);
            var (features, shape) = FeatureDecoder.Decode(request.Features);
            var images = Images(request);
            var decoded = Stopwatch.GetTimestamp();
            using var lease = await job.Weights.AcquireAsync(
                request.WeightsCase == MineRequest.WeightsOneofCase.WeightsVersion ? request.WeightsVersion : null,
                request.WeightsCase == MineRequest.WeightsOneofCase.MinWeightsVersion ? request.MinWeightsVersion : 0,
                options.Value.VersionWait, cancellationToken).ConfigureAwait(false);
            var leased = Stopwatch.GetTimestamp();

            // Scoring is CPU-bound (tens of ms to seconds): off the request's thread.
            var scored = await Task.Run(() => job.Scorer.Score(new ScoringBatch(features, shape, images), lease.Version), cancellationToken)
                .ConfigureAwait(false);
            var timings = new MineTimings
            {
                QueuedMs = Milliseconds(decoded, leased),
                DecodeMs = Milliseconds(start, decoded),
                PoolMs = scored.Timings.Pool.TotalMilliseconds,
                RunMs = scored.Timings.Run.TotalMilliseconds,
                LossMs = scored.Timings.Loss.TotalMilliseconds,
            };
            return new ScoredBatch(request, job, images, scored, timings, null);
        }
        catch (Exception e) when (MinerErrors.CodeOf(e) is not null)
        {
            return new ScoredBatch(request, job, [], null, null, e);
        }
    }

    /// <summary>Selects per image with the request's policy and builds the response (or its error).</summary>
    internal static MineResponse Finish(ScoredBatch batch, PolicyCache policies)
    {
        var request = batch.Request;
        try
        {
            if (batch.Failure is { } failure)
            {
                throw failure;
            }

            var selectStart = Stopwatch.GetTimestamp();
            var selector = policies.Get(batch.Job!.Id, request.Policy);
            var response = new MineResponse { BatchId = request.BatchId, WeightsVersion = batch.Scores!.Version, Timings = batch.Timings ?? new MineTimings() };
            for (var i = 0; i < batch.Images.Length; i++)
            {
                response.Images.Add(Select(selector, request.Images[i], batch.Images[i], batch.Scores, i, request.ReturnLosses));
            }

            batch.Job.CountBatch();
            response.Timings.SelectMs = Milliseconds(selectStart, Stopwatch.GetTimestamp());
            return response;
        }
        catch (Exception e) when (MinerErrors.CodeOf(e) is { } code)
        {
            return new MineResponse { BatchId = request.BatchId, Error = new BatchError { Code = (int)code, Message = $"batch {request.BatchId}: {MinerErrors.Message(e)}" } };
        }
    }

    private static ImageRoiSet[] Images(MineRequest request)
    {
        var images = new ImageRoiSet[request.Images.Count];
        for (var i = 0; i < images.Length; i++)
        {
            var image = request.Images[i];
            var maxOverlaps = image.MaxOverlaps.Count;
            if (maxOverlaps != 0 && maxOverlaps != image.Labels.Count)
            {
                throw new ArgumentException($"images[{i}].max_overlaps has {maxOverlaps} values for {image.Labels.Count} RoIs.", nameof(request));
            }

            images[i] = new ImageRoiSet([.. image.Boxes], [.. image.Labels], [.. image.BoxTargets]);
        }

        return images;
    }

    private static ImageSelection Select(IHardExampleSelector selector, WireRois wire, ImageRoiSet image, ScoringResult scores, int index, bool returnLosses)
    {
        var overlaps = wire.MaxOverlaps.Count > 0 ? [.. wire.MaxOverlaps] : Array.Empty<float>();
        var losses = scores.Losses[index];
        var selection = selector.Select(new Core.Selection.ImageRois(
            image.Boxes, losses, image.Labels, overlaps, scores.ClassLosses[index], scores.BoxLosses[index]));
        var result = new ImageSelection
        {
            Counts = new Protocol.V1.SelectionCounts
            {
                Candidates = (uint)selection.Counts.Candidates,
                Ignored = (uint)selection.Counts.Ignored,
                SuppressedByNms = (uint)selection.Counts.SuppressedByNms,
                Foreground = (uint)selection.Counts.Foreground,
                Background = (uint)selection.Counts.Background,
            },
            MeanLoss = MeanLoss(losses, image.Labels),
        };
        result.Indices.AddRange(selection.Indices);
        if (selection.Weights is { } weights)
        {
            result.Weights.AddRange(weights);
        }

        if (returnLosses)
        {
            result.Losses.AddRange(selection.Indices.Select(i => losses[i]));
        }

        return result;
    }

    private static float MeanLoss(float[] losses, int[] labels)
    {
        double sum = 0;
        var count = 0;
        for (var i = 0; i < losses.Length; i++)
        {
            if (labels[i] >= 0)
            {
                sum += losses[i];
                count++;
            }
        }

        return count == 0 ? 0f : (float)(sum / count);
    }

    private static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
