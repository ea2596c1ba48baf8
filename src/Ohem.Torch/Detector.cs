using System.Runtime.InteropServices;
using Ohem.Torch.Native;

namespace Ohem.Torch;

/// <summary>
/// A Fast R-CNN style detector on libtorch (CPU): backbone, RoI head, the contract's multi-task loss
/// (ARCHITECTURE.md; the same as <see cref="Ohem.Core.RoiLoss"/>) and SGD with momentum. The head's
/// parameters carry <c>RoiHeadExporter</c>'s names and layouts, so <see cref="HeadWeights"/> exports
/// and publishes as is. Calls are serialised (one at a time per detector); gradients accumulate over
/// <see cref="TrainHead"/> calls until <see cref="Step"/>.
/// </summary>
public sealed class Detector : IDisposable
{
    private const string BackbonePrefix = "backbone.";

    private readonly DetectorHandle _handle;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TorchParameter> _byName;

    // Bumped whenever the backbone's weights change in place (Step, Load, SetParameter of a
    // backbone tensor): feature maps from an older version cannot be trained through.
    private long _backboneVersion;

    private Detector(DetectorOptions options, DetectorHandle handle, IReadOnlyList<TorchParameter> parameters)
    {
        Options = options;
        _handle = handle;
        Parameters = parameters;
        _byName = parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    /// <summary>The options it was created with (lists copied).</summary>
    public DetectorOptions Options { get; }

    /// <summary>
    /// Every parameter in order: <c>backbone.conv1.weight</c> [C1, C_in, 3, 3], <c>backbone.conv1.bias</c>,
    /// ..., then the head's <c>fc6.weight</c> [H1, C*P*P], <c>fc6.bias</c>, ..., <c>cls_score.weight</c>
    /// [K+1, H_last], <c>cls_score.bias</c>, <c>bbox_pred.weight</c> [4(K+1), H_last], <c>bbox_pred.bias</c>.
    /// </summary>
    public IReadOnlyList<TorchParameter> Parameters { get; }

    /// <summary>K + 1, the columns of the class scores.</summary>
    public int ClassScoreWidth => Options.NumClasses + 1;

    /// <summary>4(K + 1), the columns of the box deltas.</summary>
    public int BoxDeltaWidth => 4 * (Options.NumClasses + 1);

    /// <summary>
    /// A detector with fresh parameters: convs and hidden layers as torch's defaults (uniform in
    /// ±1/sqrt(fan_in)), cls_score from N(0, 0.01) and bbox_pred from N(0, 0.001) with zero biases
    /// (Fast R-CNN), all drawn from <see cref="DetectorOptions.Seed"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public static unsafe Detector Create(DetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options = options with { BackboneChannels = [.. options.BackboneChannels], HiddenSizes = [.. options.HiddenSizes] };
        int[] backbone = [.. options.BackboneChannels], hidden = [.. options.HiddenSizes];
        DetectorHandle handle;
        fixed (int* b = backbone)
        fixed (int* h = hidden)
        {
            TorchNative.Check(TorchNative.ohem_detector_create(
                options.InputChannels, b, backbone.Length, options.Stride, options.PooledSize, h, hidden.Length,
                options.NumClasses, options.Momentum, options.WeightDecay, options.Seed, out handle), "create detector");
        }

        try
        {
            return new Detector(options, handle, ReadParameters(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the backbone on <paramref name="images"/> [count, InputChannels, height, width] and keeps
    /// the graph, so a <see cref="TrainHead"/> through the result trains the backbone too.
    /// </summary>
    public unsafe FeatureMaps Backbone(ReadOnlySpan<float> images, int count, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, Options.Stride);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, Options.Stride);
        HeadInputChecks.Length(images.Length, (long)count * Options.InputChannels * height * width, nameof(images),
            $"[count={count}, InputChannels={Options.InputChannels}, height={height}, width={width}]");
        var shape = stackalloc long[4];
        FeatureMapsHandle features;
        long version;
        lock (_gate)
        {
            ThrowIfDisposed();
            version = _backboneVersion;
            fixed (float* i = images)
            {
                TorchNative.Check(TorchNative.ohem_detector_backbone(_handle, i, count, height, width, out features, shape), "backbone");
            }
        }

        return new FeatureMaps(this, features, version, (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);
    }

    /// <summary>
    /// The head in inference mode (no graph, no gradients): <paramref name="rois"/> [R, 5] (batch
    /// index, x1, y1, x2, y2 in image pixels) -> <paramref name="clsScores"/> [R, K+1] logits and
    /// <paramref name="bboxPred"/> [R, 4(K+1)], what the exported scoring model computes.
    /// </summary>
    public unsafe void InferHead(FeatureMaps features, ReadOnlySpan<float> rois, Span<float> clsScores, Span<float> bboxPred)
    {
        CheckFeatures(features);
        var count = HeadInputChecks.Rois(rois, features.Count);
        HeadInputChecks.Length(clsScores.Length, (long)count * ClassScoreWidth, nameof(clsScores), $"[R={count}, K+1={ClassScoreWidth}]");
        HeadInputChecks.Length(bboxPred.Length, (long)count * BoxDeltaWidth, nameof(bboxPred), $"[R={count}, 4(K+1)={BoxDeltaWidth}]");
        lock (_gate)
        {
            ThrowIfDisposed();
            features.ThrowIfDisposed();
            fixed (float* r = rois)
            fixed (float* c = clsScores)
            fixed (float* b = bboxPred)
            {
                TorchNative.Check(TorchNative.ohem_detector_infer_head(_handle, features.Handle, r, count, c, b), "infer head");
            }
        }
    }

    /// <summary>
    /// One training pass of the head on <paramref name="rois"/>: forward, the contract's loss and
    /// backward into the head and, through <paramref name="features"/>, the backbone. Gradients add up
    /// until <see cref="Step"/>.
    /// </summary>
    /// <param name="features">Feature maps not trained through yet (their graph is freed here).</param>
    /// <param name="rois">[R, 5] (batch index, x1, y1, x2, y2).</param>
    /// <param name="labels">[R] in -1..K; -1 RoIs add nothing and are not counted.</param>
    /// <param name="targets">[R, 4] normalised deltas of the labelled class (read for label &gt;= 1).</param>
    /// <param name="weights">[R] per-RoI loss weights, or empty for all 1.</param>
    /// <param name="perRoiLoss">[R] receives each RoI's unweighted loss (0 for label -1).</param>
    /// <returns>sum_i w_i l_i / (number of RoIs with label &gt;= 0), or 0 when there is none.</returns>
    /// <exception cref="InvalidOperationException">The feature maps were already trained through, or the
    /// backbone's weights changed since they were computed (their graph holds the old weights).</exception>
    public unsafe float TrainHead(
        FeatureMaps features, ReadOnlySpan<float> rois, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets,
        ReadOnlySpan<float> weights, Span<float> perRoiLoss)
    {
        CheckFeatures(features);
        var count = HeadInputChecks.Rois(rois, features.Count);
        HeadInputChecks.Length(labels.Length, count, nameof(labels), $"[R={count}]");
        HeadInputChecks.Labels(labels, Options.NumClasses);
        HeadInputChecks.Length(targets.Length, 4L * count, nameof(targets), $"[R={count}, 4]");
        HeadInputChecks.Finite(targets, nameof(targets));
        if (!weights.IsEmpty)
        {
            HeadInputChecks.Length(weights.Length, count, nameof(weights), $"empty or [R={count}]");
            HeadInputChecks.Finite(weights, nameof(weights), nonNegative: true);
        }

        HeadInputChecks.Length(perRoiLoss.Length, count, nameof(perRoiLoss), $"[R={count}]");
        float loss;
        lock (_gate)
        {
            ThrowIfDisposed();
            features.ThrowIfDisposed();
            if (features.Trained)
            {
                throw new InvalidOperationException(
                    "These feature maps were already trained through: the backward freed their graph. Run Backbone again for another training pass.");
            }

            if (features.BackboneVersion != _backboneVersion)
            {
                throw new InvalidOperationException(
                    "These feature maps were computed before the backbone's weights last changed (Step, Load or SetParameter): "
                    + "their graph holds the old weights. Run Backbone again for a training pass; InferHead may still read them.");
            }

            features.Trained = true; // the native pass frees the graph even when it fails
            fixed (float* r = rois)
            fixed (int* l = labels)
            fixed (float* t = targets)
            fixed (float* w = weights)
            fixed (float* p = perRoiLoss)
            {
                TorchNative.Check(TorchNative.ohem_detector_train_head(
                    _handle, features.Handle, r, count, l, t, weights.IsEmpty ? null : w, p, out loss), "train head");
            }
        }

        return loss;
    }

    /// <summary>
    /// One SGD step with momentum and weight decay at <paramref name="learningRate"/> (torch.optim.SGD:
    /// v = momentum v + grad + decay p; p -= lr v), then zeroes the gradients.
    /// </summary>
    public void Step(float learningRate)
    {
        if (!(float.IsFinite(learningRate) && learningRate >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "learningRate must be a finite number >= 0.");
        }

        lock (_gate)
        {
            ThrowIfDisposed();
            TorchNative.Check(TorchNative.ohem_detector_step(_handle, learningRate), "step");
            _backboneVersion++;
        }
    }

    /// <summary>Copies parameter <paramref name="name"/> (row-major) into <paramref name="destination"/>.</summary>
    public unsafe void CopyParameter(string name, Span<float> destination) =>
        CopyNamed(name, destination, &TorchNative.ohem_detector_copy_parameter, "copy parameter");

    /// <summary>
    /// Copies the gradient accumulated for parameter <paramref name="name"/> since the last
    /// <see cref="Step"/> (zeros when none) into <paramref name="destination"/>.
    /// </summary>
    public unsafe void CopyGradient(string name, Span<float> destination) =>
        CopyNamed(name, destination, &TorchNative.ohem_detector_copy_gradient, "copy gradient");

    private unsafe void CopyNamed(
        string name, Span<float> destination, delegate*<DetectorHandle, string, float*, long, int> copy, string what)
    {
        var parameter = Find(name);
        HeadInputChecks.Length(destination.Length, parameter.ElementCount, nameof(destination), $"'{name}' {parameter.ShapeText}");
        lock (_gate)
        {
            ThrowIfDisposed();
            fixed (float* d = destination)
            {
                TorchNative.Check(copy(_handle, name, d, destination.Length), what);
            }
        }
    }

    /// <summary>Replaces parameter <paramref name="name"/> with <paramref name="source"/> (row-major, finite).</summary>
    public unsafe void SetParameter(string name, ReadOnlySpan<float> source)
    {
        var parameter = Find(name);
        HeadInputChecks.Length(source.Length, parameter.ElementCount, nameof(source), $"'{name}' {parameter.ShapeText}");
        HeadInputChecks.Finite(source, nameof(source));
        lock (_gate)
        {
            ThrowIfDisposed();
            fixed (float* s = source)
            {
                TorchNative.Check(TorchNative.ohem_detector_set_parameter(_handle, name, s, source.Length), "set parameter");
                if (name.StartsWith(BackbonePrefix, StringComparison.Ordinal))
                {
                    _backboneVersion++;
                }
            }
        }
    }

    /// <summary>A copy of parameter <paramref name="name"/>.</summary>
    public float[] Parameter(string name)
    {
        var values = new float[Find(name).ElementCount];
        CopyParameter(name, values);
        return values;
    }

    /// <summary>
    /// Copies of the head's tensors under RoiHeadExporter's names (<c>fc6.weight</c>, ...,
    /// <c>bbox_pred.bias</c>): what the trainer exports and publishes to the miner.
    /// </summary>
    public IReadOnlyDictionary<string, float[]> HeadWeights()
    {
        lock (_gate) // one consistent snapshot (the lock is re-entrant)
        {
            return Parameters.Where(p => !p.Name.StartsWith(BackbonePrefix, StringComparison.Ordinal))
                .ToDictionary(p => p.Name, p => Parameter(p.Name), StringComparer.Ordinal);
        }
    }

    /// <summary>Writes the parameters and SGD momentum buffers to <paramref name="path"/> (a libtorch archive).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        lock (_gate)
        {
            ThrowIfDisposed();
            TorchNative.Check(TorchNative.ohem_detector_save(_handle, path), "save");
        }
    }

    /// <summary>
    /// Reads what <see cref="Save"/> wrote. Every name and shape is checked before anything changes;
    /// a mismatch throws <see cref="TorchException"/> naming the parameter.
    /// </summary>
    public void Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No detector checkpoint at {path}.", path);
        }

        lock (_gate)
        {
            ThrowIfDisposed();
            TorchNative.Check(TorchNative.ohem_detector_load(_handle, path), "load");
            _backboneVersion++;
        }
    }

    /// <summary>Frees the native detector; a second call does nothing.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _handle.Dispose();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_handle.IsClosed, this);

    private TorchParameter Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        return _byName.TryGetValue(name, out var parameter)
            ? parameter
            : throw new ArgumentException($"The detector has no parameter '{name}'; it has {string.Join(", ", Parameters.Select(p => p.Name))}.", nameof(name));
    }

    private void CheckFeatures(FeatureMaps features)
    {
        ArgumentNullException.ThrowIfNull(features);
        ThrowIfDisposed();
        features.ThrowIfDisposed();
        if (!ReferenceEquals(features.Owner, this))
        {
            throw new ArgumentException("The feature maps come from another detector's backbone.", nameof(features));
        }
    }

    private static unsafe List<TorchParameter> ReadParameters(DetectorHandle handle)
    {
        TorchNative.Check(TorchNative.ohem_detector_parameter_count(handle, out var count), "parameter count");
        var parameters = new List<TorchParameter>(count);
        var shape = stackalloc long[8];
        for (var i = 0; i < count; i++)
        {
            TorchNative.Check(TorchNative.ohem_detector_parameter_info(handle, i, out var name, out var rank, shape), "parameter info");
            parameters.Add(new TorchParameter(Marshal.PtrToStringUTF8(name) ?? string.Empty, new ReadOnlySpan<long>(shape, rank).ToArray()));
        }

        return parameters;
    }
}
