using System.Buffers;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Ohem.Core;

namespace Ohem.Onnx.Scoring;

/// <summary>
/// The read-only RoI network: runs a job's scoring model with one weights version over every RoI
/// of a batch (one ONNX Runtime run for all images) and returns each RoI's multi-task loss
/// (<see cref="RoiLoss"/>). Thread-safe; scorings may run while versions install.
/// </summary>
public sealed class RoiScorer(WeightsVersionStore store)
{
    private static readonly RunOptions RunOptions = new(); // default options, read-only: shared by every run


    public ScoringModel Model => store.Model;

    /// <summary>Scores with <paramref name="version"/>, or the newest when null.</summary>
    /// <exception cref="ArgumentException">Malformed batch; the message names the image and field.</exception>
    /// <exception cref="VersionNotHeldException">The version is not held.</exception>
    /// <exception cref="NonFiniteOutputException">The model produced NaN or infinity for an image.</exception>
    public ScoringResult Score(ScoringBatch batch, ulong? version = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var start = Stopwatch.GetTimestamp();
        var k = Model.NumClasses;
        var width = k + 1;
        var (n, c, h, w) = batch.Shape;
        var offsets = Validate(batch, k);
        var total = offsets[^1];

        var pool = ArrayPool<float>.Shared;
        var rois = pool.Rent(Math.Max(total * 5, 1));
        var cls = pool.Rent(Math.Max(total * width, 1));
        var box = pool.Rent(Math.Max(total * 4 * width, 1));
        try
        {
            for (var i = 0; i < batch.Images.Count; i++)
            {
                var boxes = batch.Images[i].Boxes;
                for (var r = 0; r < batch.Images[i].Count; r++)
                {
                    var o = 5 * (offsets[i] + r);
                    rois[o] = i;
                    boxes.AsSpan(4 * r, 4).CopyTo(rois.AsSpan(o + 1, 4));
                }
            }

            using var lease = store.Acquire(version);
            if (total == 0)
            {
                float[][] empty = [.. batch.Images.Select(_ => Array.Empty<float>())];
                return new ScoringResult(lease.Version, empty, empty, empty, default);
            }

            // Every tensor is an OrtValue over our own memory (pinned, not copied), bound with the
            // preallocated outputs, so ONNX Runtime writes the logits and deltas in place.
            var memory = OrtMemoryInfo.DefaultInstance;
            using var clsTensor = OrtValue.CreateTensorValueFromMemory(memory, cls.AsMemory(0, total * width), [total, width]);
            using var boxTensor = OrtValue.CreateTensorValueFromMemory(memory, box.AsMemory(0, total * 4 * width), [total, 4 * width]);
            using var binding = lease.Session.CreateIoBinding();
            binding.BindOutput(ScoringModel.ClassScores, clsTensor);
            binding.BindOutput(ScoringModel.BoxDeltas, boxTensor);
            long prepared, pooledAt;
            if (lease.Held.HostPooling is { } split)
            {
                // The session is the head after RoI pooling: pool here, bind the pooled tensor.
                var size = total * split.Channels * split.PooledHeight * split.PooledWidth;
                var pooled = pool.Rent(size);
                try
                {
                    prepared = Stopwatch.GetTimestamp();
                    RoiMaxPool.Pool(batch.Features.Span, n, c, h, w, rois.AsSpan(0, total * 5),
                        split.PooledHeight, split.PooledWidth, split.SpatialScale, pooled.AsSpan(0, size), lease.Held.PoolingThreads);
                    pooledAt = Stopwatch.GetTimestamp();
                    using var pooledTensor = OrtValue.CreateTensorValueFromMemory(
                        memory, pooled.AsMemory(0, size), [total, split.Channels, split.PooledHeight, split.PooledWidth]);
                    binding.BindInput(split.PooledInput, pooledTensor);
                    lease.Session.RunWithBinding(RunOptions, binding);
                }
                finally
                {
                    pool.Return(pooled);
                }
            }
            else
            {
                using var features = OrtValue.CreateTensorValueFromMemory(memory, MemoryMarshal.AsMemory(batch.Features), [n, c, h, w]); // ORT never writes inputs
                using var roiTensor = OrtValue.CreateTensorValueFromMemory(memory, rois.AsMemory(0, total * 5), [total, 5]);
                binding.BindInput(ScoringModel.Features, features);
                binding.BindInput(ScoringModel.Rois, roiTensor);
                prepared = pooledAt = Stopwatch.GetTimestamp();
                lease.Session.RunWithBinding(RunOptions, binding);
            }

            var ran = Stopwatch.GetTimestamp();

            var losses = new float[batch.Images.Count][];
            var classLosses = new float[batch.Images.Count][];
            var boxLosses = new float[batch.Images.Count][];
            for (var i = 0; i < batch.Images.Count; i++)
            {
                var image = batch.Images[i];
                var r = image.Count;
                var logits = cls.AsSpan(offsets[i] * width, r * width);
                var deltas = box.AsSpan(offsets[i] * 4 * width, r * 4 * width);
                // An image without RoIs has nothing to check (IsFiniteAll of an empty span is false).
                if (r > 0 && (!TensorPrimitives.IsFiniteAll<float>(logits) || !TensorPrimitives.IsFiniteAll<float>(deltas)))
                {
                    throw new NonFiniteOutputException($"weights version {lease.Version} produced a non-finite output for image {i}; the weights have likely diverged.");
                }

                (losses[i], classLosses[i], boxLosses[i]) = (new float[r], new float[r], new float[r]);
                RoiLoss.ComputeTerms(logits, deltas, image.Labels, image.BoxTargets, k, losses[i], classLosses[i], boxLosses[i]);
            }

            var end = Stopwatch.GetTimestamp();
            return new ScoringResult(lease.Version, losses, classLosses, boxLosses, new ScoringTimings(
                Stopwatch.GetElapsedTime(start, prepared), Stopwatch.GetElapsedTime(prepared, pooledAt),
                Stopwatch.GetElapsedTime(pooledAt, ran), Stopwatch.GetElapsedTime(ran, end)));
        }
        finally
        {
            pool.Return(rois);
            pool.Return(cls);
            pool.Return(box);
        }
    }

    /// <summary>Checks the batch; returns each image's first RoI offset (and the total last).</summary>
    private int[] Validate(ScoringBatch batch, int k)
    {
        var (n, c, h, w) = batch.Shape;
        if (n < 1 || c < 1 || h < 1 || w < 1)
        {
            throw new ArgumentException($"features.shape is [{n}, {c}, {h}, {w}]; every dimension must be at least 1.", nameof(batch));
        }

        // Checked: four int dimensions can multiply past long (a shape of [4, 4, 2^30, 2^30]
        // wraps to 0 and would pass for empty features).
        var elements = ElementCount(n, c, h, w)
            ?? throw new ArgumentException($"features.shape [{n}, {c}, {h}, {w}] has more elements than a 64-bit count holds.", nameof(batch));
        if (elements != batch.Features.Length)
        {
            throw new ArgumentException($"features hold {batch.Features.Length} floats; features.shape [{n}, {c}, {h}, {w}] needs {elements}.", nameof(batch));
        }

        if (Model.Channels is { } channels && c != channels)
        {
            throw new ArgumentException($"features have {c} channels; the model takes {channels}.", nameof(batch));
        }

        if (batch.Images.Count != n)
        {
            throw new ArgumentException($"batch has {batch.Images.Count} images of RoIs for {n} feature maps.", nameof(batch));
        }

        var perImage = c * h * w;
        var offsets = new int[n + 1];
        for (var i = 0; i < n; i++)
        {
            var map = batch.Features.Span.Slice(i * perImage, perImage);
            if (!TensorPrimitives.IsFiniteAll(map))
            {
                var bad = FirstNonFinite(map);
                throw new ArgumentException($"features of image {i} hold a non-finite value ({map[bad]}) at element {bad}.", nameof(batch));
            }

            var image = batch.Images[i];
            try
            {
                var count = Boxes.Validate(image.Boxes, "Boxes");
                Check(image.Labels.Length == count, $"has {count} boxes but {image.Labels.Length} labels", "Labels");
                Check(image.BoxTargets.Length == 4 * count, $"has {count} boxes but {image.BoxTargets.Length} box-target floats (4 per RoI)", "BoxTargets");
                for (var r = 0; r < count; r++)
                {
                    Check(image.Labels[r] >= -1 && image.Labels[r] <= k, $"label {r} is {image.Labels[r]}; expected -1..{k}", "Labels");
                }

                for (var j = 0; j < image.BoxTargets.Length; j++)
                {
                    Check(float.IsFinite(image.BoxTargets[j]), $"box target {j} is {image.BoxTargets[j]}; expected finite", "BoxTargets");
                }
            }
            catch (ArgumentException e)
            {
                var reason = e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
                throw new ArgumentException($"images[{i}].{e.ParamName}: {reason}", $"images[{i}].{e.ParamName}", e);
            }

            offsets[i + 1] = offsets[i] + image.Count;
        }

        return offsets;
    }

    /// <summary>n * c * h * w, or null past long's range.</summary>
    private static long? ElementCount(int n, int c, int h, int w)
    {
        try
        {
            return checked((long)n * c * h * w);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static void Check(bool ok, string message, string field)
    {
        if (!ok)
        {
            throw new ArgumentException(message, field);
        }
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>The model produced NaN or infinity: the weights version is broken, not the request.</summary>
public sealed class NonFiniteOutputException(string message) : Exception(message);
