using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ohem.Torch;

/// <summary>
/// A Fast R-CNN style detector on TorchSharp (LibTorch, CPU): backbone, RoI head, the contract's
/// multi-task loss (ARCHITECTURE.md; the same as <see cref="Ohem.Core.RoiLoss"/>) and
/// SGD with momentum and weight decay (torch.optim.SGD's update, <see cref="MomentumSgd"/>). The head's parameters carry
/// <c>RoiHeadExporter</c>'s names and layouts, so <see cref="HeadWeights"/> exports and publishes as
/// is. Calls are serialised (one at a time per detector); gradients accumulate over
/// <see cref="TrainHead"/> calls until <see cref="Step"/>. Temporaries live in dispose scopes.
/// </summary>
public sealed class Detector : IDisposable
{
    private const string BackbonePrefix = "backbone.";
    private const string CheckpointMagic = "OHEM-DETECTOR-2";

    // The 4 delta columns of a class: class * 4 + (0, 1, 2, 3).
    private static readonly long[] DeltaColumns = [0, 1, 2, 3];

    private readonly BackboneNetwork _backbone;
    private readonly HeadNetwork _head;
    private readonly List<(TorchParameter Info, Parameter Value)> _parameters;
    private readonly Dictionary<string, int> _byName;
    private readonly MomentumSgd _optimizer;
    private readonly Lock _gate = new();
    private bool _disposed;

    // Bumped whenever the backbone's weights change in place (Step, Load, SetParameter of a
    // backbone tensor): feature maps from an older version cannot be trained through.
    private long _backboneVersion;

    private Detector(DetectorOptions options)
    {
        Options = options;
        _backbone = new BackboneNetwork(options);
        _head = new HeadNetwork(options);
        _parameters = [
            .. _backbone.named_parameters().Select(p => (new TorchParameter(BackbonePrefix + p.name, p.parameter.shape), p.parameter)),
            .. _head.named_parameters().Select(p => (new TorchParameter(p.name, p.parameter.shape), p.parameter)),
        ];
        _byName = _parameters.Select((p, i) => (p.Info.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        Parameters = [.. _parameters.Select(p => p.Info)];
        Initialise(options.Seed);
        _optimizer = new MomentumSgd(_parameters.Select(p => p.Value), options.Momentum, options.WeightDecay);
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
    public static Detector Create(DetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options = options with { BackboneChannels = [.. options.BackboneChannels], HiddenSizes = [.. options.HiddenSizes] };
        TorchRuntime.Enter();
        return TorchException.Wrap("create detector", () => new Detector(options));
    }

    /// <summary>
    /// Runs the backbone on <paramref name="images"/> [count, InputChannels, height, width] and keeps
    /// the graph, so a <see cref="TrainHead"/> through the result trains the backbone too.
    /// </summary>
    public FeatureMaps Backbone(ReadOnlySpan<float> images, int count, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, Options.Stride);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, Options.Stride);
        HeadInputChecks.Length(images.Length, (long)count * Options.InputChannels * height * width, nameof(images),
            $"[count={count}, InputChannels={Options.InputChannels}, height={height}, width={width}]");
        var pixels = images.ToArray();
        lock (_gate)
        {
            ThrowIfDisposed();
            TorchRuntime.Enter();
            var version = _backboneVersion;
            var value = TorchException.Wrap("backbone", () =>
            {
                using var scope = NewDisposeScope();
                return _backbone.call(tensor(pixels, [count, Options.InputChannels, height, width])).MoveToOuterDisposeScope();
            });
            return new FeatureMaps(this, value, version);
        }
    }

    /// <summary>
    /// The head in inference mode (no graph, no gradients): <paramref name="rois"/> [R, 5] (batch
    /// index, x1, y1, x2, y2 in image pixels) -> <paramref name="clsScores"/> [R, K+1] logits and
    /// <paramref name="bboxPred"/> [R, 4(K+1)], what the exported scoring model computes.
    /// </summary>
    public void InferHead(FeatureMaps features, ReadOnlySpan<float> rois, Span<float> clsScores, Span<float> bboxPred)
    {
        CheckFeatures(features);
        var count = HeadInputChecks.Rois(rois, features.Count);
        HeadInputChecks.Length(clsScores.Length, (long)count * ClassScoreWidth, nameof(clsScores), $"[R={count}, K+1={ClassScoreWidth}]");
        HeadInputChecks.Length(bboxPred.Length, (long)count * BoxDeltaWidth, nameof(bboxPred), $"[R={count}, 4(K+1)={BoxDeltaWidth}]");
        var boxes = rois.ToArray();
        lock (_gate)
        {
            ThrowIfDisposed();
            TorchRuntime.Enter();
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            var (scores, deltas) = TorchException.Wrap("infer head", () => _head.call(features.Value, boxes));
            RoiPooling.Floats(scores.contiguous()).CopyTo(clsScores);
            RoiPooling.Floats(deltas.contiguous()).CopyTo(bboxPred);
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
    public float TrainHead(
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
        var boxes = rois.ToArray();
        var labelValues = labels.ToArray().Select(l => (long)l).ToArray();
        var targetValues = targets.ToArray();
        var weightValues = weights.IsEmpty ? null : weights.ToArray();
        lock (_gate)
        {
            ThrowIfDisposed();
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

            TorchRuntime.Enter();
            features.Trained = true; // the backward frees the graph even when it fails
            using var scope = NewDisposeScope();
            var (losses, total) = TorchException.Wrap("train head", () =>
            {
                var (scores, deltas) = _head.call(features.Value, boxes);
                var labelTensor = tensor(labelValues, [count]);
                var perRoi = PerRoiLoss(scores, deltas, labelTensor, tensor(targetValues, [count, 4]));
                var weighted = weightValues is null ? perRoi : perRoi * tensor(weightValues, [count]);
                using var zero = 0L.ToScalar();
                using var one = 1L.ToScalar();
                var counted = labelTensor.ge(zero).sum().clamp_min(one).to(ScalarType.Float32);
                var loss = weighted.sum() / counted;
                loss.backward();
                return (perRoi.detach(), loss.item<float>());
            });
            RoiPooling.Floats(losses.contiguous()).CopyTo(perRoiLoss);
            return total;
        }
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
            TorchRuntime.Enter();
            TorchException.Wrap("step", () =>
            {
                _optimizer.Step(learningRate);
                _optimizer.ZeroGradients();
            });
            _backboneVersion++;
        }
    }

    /// <summary>Copies parameter <paramref name="name"/> (row-major) into <paramref name="destination"/>.</summary>
    public void CopyParameter(string name, Span<float> destination)
    {
        var (info, value) = Find(name);
        HeadInputChecks.Length(destination.Length, info.ElementCount, nameof(destination), $"'{name}' {info.ShapeText}");
        lock (_gate)
        {
            ThrowIfDisposed();
            RoiPooling.Floats(value).CopyTo(destination);
        }
    }

    /// <summary>
    /// Copies the gradient accumulated for parameter <paramref name="name"/> since the last
    /// <see cref="Step"/> (zeros when none) into <paramref name="destination"/>.
    /// </summary>
    public void CopyGradient(string name, Span<float> destination)
    {
        var (info, value) = Find(name);
        HeadInputChecks.Length(destination.Length, info.ElementCount, nameof(destination), $"'{name}' {info.ShapeText}");
        lock (_gate)
        {
            ThrowIfDisposed();
            var gradient = value.grad;
            if (gradient is null)
            {
                destination.Clear();
            }
            else
            {
                RoiPooling.Floats(gradient).CopyTo(destination);
            }
        }
    }

    /// <summary>Replaces parameter <paramref name="name"/> with <paramref name="source"/> (row-major, finite).</summary>
    public void SetParameter(string name, ReadOnlySpan<float> source)
    {
        var (info, value) = Find(name);
        HeadInputChecks.Length(source.Length, info.ElementCount, nameof(source), $"'{name}' {info.ShapeText}");
        HeadInputChecks.Finite(source, nameof(source));
        lock (_gate)
        {
            ThrowIfDisposed();
            source.CopyTo(RoiPooling.Floats(value));
            if (name.StartsWith(BackbonePrefix, StringComparison.Ordinal))
            {
                _backboneVersion++;
            }
        }
    }

    /// <summary>
    /// Starts the backbone from <paramref name="weights"/> (e.g. a classification pretraining,
    /// <see cref="BackboneClassifier"/>): every <c>backbone.*</c> parameter must be there with this
    /// detector's shape, and nothing else; checked before anything changes. The head keeps its
    /// initialisation.
    /// </summary>
    /// <exception cref="ArgumentException">A parameter is missing, extra, of another shape or not finite.</exception>
    public void LoadBackbone(IReadOnlyList<(TorchParameter Info, float[] Values)> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var backbone = Parameters.Where(p => p.Name.StartsWith(BackbonePrefix, StringComparison.Ordinal)).ToList();
        var given = weights.ToDictionary(w => w.Info.Name, StringComparer.Ordinal);
        foreach (var extra in given.Keys.Where(name => !backbone.Any(p => p.Name == name)))
        {
            throw new ArgumentException($"The backbone weights have '{extra}', which this detector's backbone does not have.", nameof(weights));
        }

        foreach (var info in backbone)
        {
            if (!given.TryGetValue(info.Name, out var entry))
            {
                throw new ArgumentException($"The backbone weights have no '{info}'.", nameof(weights));
            }

            if (!entry.Info.Equals(info))
            {
                throw new ArgumentException($"The backbone weights have {entry.Info}; this detector's is {info.ShapeText}.", nameof(weights));
            }

            HeadInputChecks.Finite(entry.Values, nameof(weights));
        }

        foreach (var info in backbone)
        {
            SetParameter(info.Name, given[info.Name].Values);
        }
    }

    /// <summary>A copy of parameter <paramref name="name"/>.</summary>
    public float[] Parameter(string name)
    {
        var values = new float[Find(name).Info.ElementCount];
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

    /// <summary>
    /// Writes the parameters and SGD momentum buffers to <paramref name="path"/>: each parameter's
    /// name, shape and values, then each one's momentum (or none yet). Written beside and renamed, so
    /// a crash mid-save never leaves a torn checkpoint under the name.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        lock (_gate)
        {
            ThrowIfDisposed();
            TorchException.Wrap("save", () =>
            {
                var temporary = path + ".partial";
                try
                {
                    using (var writer = new BinaryWriter(File.Create(temporary)))
                    {
                        writer.Write(CheckpointMagic);
                        writer.Write(_parameters.Count);
                        foreach (var (info, value) in _parameters)
                        {
                            writer.Write(info.Name);
                            writer.Write(info.Shape.Length);
                            foreach (var dim in info.Shape)
                            {
                                writer.Write(dim);
                            }

                            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(RoiPooling.Floats(value)));
                        }

                        _optimizer.Write(writer);
                    }

                    File.Move(temporary, path, overwrite: true);
                }
                catch (IOException e)
                {
                    throw new EngineException($"cannot write {path}: {e.Message}", e);
                }
                catch (UnauthorizedAccessException e)
                {
                    throw new EngineException($"cannot write {path}: {e.Message}", e);
                }
            });
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
            TorchRuntime.Enter();
            TorchException.Wrap("load", () =>
            {
                using var reader = new BinaryReader(File.OpenRead(path));
                var values = ReadParameters(reader, path);
                var momentum = _optimizer.Read(reader);
                using (no_grad())
                {
                    foreach (var (index, data) in values)
                    {
                        data.CopyTo(RoiPooling.Floats(_parameters[index].Value));
                    }
                }

                _optimizer.Restore(momentum);
            });
            _backboneVersion++;
        }
    }

    /// <summary>Frees the modules' tensors and the optimizer's state; a second call does nothing.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _optimizer.Dispose();
            _head.Dispose();
            _backbone.Dispose();
        }
    }

    // The contract's per-RoI loss (ARCHITECTURE.md, Ohem.Core RoiLoss): softmax cross-entropy plus,
    // for label >= 1, smooth-L1 (beta 1) over the labelled class's 4 deltas; 0 for label -1.
    // Scalars are made and disposed here, never converted implicitly from numbers: TorchSharp
    // frees an implicit Scalar in its finalizer, which can run while the native call still reads
    // it (3,000-step runs died with "Unknown scalar type" in labels.ge(0) and in Scalar::toLong
    // under a + b, which TorchSharp runs as a.add(b, alpha: 1) with an implicit 1).
    private static Tensor PerRoiLoss(Tensor scores, Tensor deltas, Tensor labels, Tensor targets)
    {
        using var zero = 0L.ToScalar();
        using var one = 1L.ToScalar();
        using var four = 4L.ToScalar();
        var valid = labels.ge(zero);
        var foreground = labels.ge(one);
        var safe = labels.clamp_min(zero);
        var crossEntropy = -nn.functional.log_softmax(scores, 1).gather(1, safe.unsqueeze(1)).squeeze(1);
        var columns = safe.unsqueeze(1).mul(four).add(tensor(DeltaColumns, [4]), one);
        var picked = deltas.gather(1, columns);
        var smoothL1 = nn.functional.smooth_l1_loss(picked, targets, nn.Reduction.None, 1.0).sum(1);
        var none = zeros_like(crossEntropy);
        return where(valid, crossEntropy.add(where(foreground, smoothL1, none), one), none);
    }

    // Draws every parameter from one generator seeded with the options' seed, in parameter order.
    private void Initialise(int seed)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator(unchecked((ulong)seed));
        foreach (var (info, value) in _parameters)
        {
            var layer = info.Name[..info.Name.LastIndexOf('.')];
            var isWeight = info.Name.EndsWith(".weight", StringComparison.Ordinal);
            if (layer == "cls_score" || layer == "bbox_pred")
            {
                if (isWeight)
                {
                    value.normal_(0.0, layer == "cls_score" ? 0.01 : 0.001, generator);
                }
                else
                {
                    value.zero_();
                }

                continue;
            }

            // torch's default for Conv2d and Linear: uniform in ±1/sqrt(fan_in) for weight and bias.
            SeededInit.FanInUniform(value, _parameters[_byName[layer + ".weight"]].Info.Shape, generator);
        }
    }

    private List<(int Index, float[] Values)> ReadParameters(BinaryReader reader, string path)
    {
        string magic;
        try
        {
            magic = reader.ReadString();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            magic = string.Empty;
        }

        if (magic != CheckpointMagic)
        {
            throw new EngineException($"{path} is not a detector checkpoint");
        }

        var count = reader.ReadInt32();
        var stored = new Dictionary<string, (long[] Shape, float[] Values)>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var shape = new long[reader.ReadInt32()];
            for (var d = 0; d < shape.Length; d++)
            {
                shape[d] = reader.ReadInt64();
            }

            if (!_byName.ContainsKey(name))
            {
                throw new EngineException($"checkpoint {path} has parameter '{name}', which this detector does not have");
            }

            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            stored[name] = (shape, values);
        }

        var result = new List<(int, float[])>();
        foreach (var (info, _) in _parameters)
        {
            if (!stored.TryGetValue(info.Name, out var entry))
            {
                throw new EngineException($"checkpoint {path} has no parameter '{info.Name}' {info.ShapeText}");
            }

            if (!entry.Shape.AsSpan().SequenceEqual(info.Shape))
            {
                throw new EngineException(
                    $"checkpoint {path} has '{info.Name}' [{string.Join(", ", entry.Shape)}]; this detector's is {info.ShapeText}");
            }

            result.Add((_byName[info.Name], entry.Values));
        }

        return result;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private (TorchParameter Info, Parameter Value) Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        return _byName.TryGetValue(name, out var index)
            ? _parameters[index]
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
}
