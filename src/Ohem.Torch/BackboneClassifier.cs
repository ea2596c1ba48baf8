using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ohem.Torch;

/// <summary>
/// The detector's backbone with a classifier on top (global average pool, one linear layer), for
/// the classification pretraining that stands in for the paper's ImageNet initialisation: trained
/// with cross-entropy and SGD (<see cref="MomentumSgd"/>), then <see cref="BackboneParameters"/> start a
/// <see cref="Detector"/> (<see cref="Detector.LoadBackbone"/>). Parameters are drawn from the
/// options' seed as the detector draws its own. Calls are serialised.
/// </summary>
public sealed class BackboneClassifier : IDisposable
{
    private const string BackbonePrefix = "backbone.";

    private readonly BackboneNetwork _backbone;
    private readonly Linear _classifier;
    private readonly MomentumSgd _optimizer;
    private readonly Lock _gate = new();
    private bool _disposed;

    private BackboneClassifier(DetectorOptions options, int classes)
    {
        Options = options;
        Classes = classes;
        _backbone = new BackboneNetwork(options);
        _classifier = nn.Linear(options.FeatureChannels, classes);
        // Parameters in order, weight then bias per layer, from one seeded generator (as the detector draws its own).
        using var generator = new Generator(unchecked((ulong)options.Seed));
        using (no_grad())
        {
            foreach (var (weight, bias) in _backbone.Layers.Select(c => (c.weight!, c.bias!)).Append((_classifier.weight!, _classifier.bias!)))
            {
                SeededInit.FanInUniform(weight, weight.shape, generator);
                SeededInit.FanInUniform(bias, weight.shape, generator);
            }
        }

        _optimizer = new MomentumSgd(_backbone.parameters().Concat(_classifier.parameters()), options.Momentum, options.WeightDecay);
    }

    /// <summary>The backbone's shape (the detector's options; head fields unused) and the seed.</summary>
    public DetectorOptions Options { get; }

    /// <summary>Classes of the classifier.</summary>
    public int Classes { get; }

    /// <summary>A fresh classifier over the backbone <paramref name="options"/> describe.</summary>
    /// <exception cref="ArgumentException">An option is out of range, or fewer than 2 classes.</exception>
    public static BackboneClassifier Create(DetectorOptions options, int classes)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        options = options with { BackboneChannels = [.. options.BackboneChannels], HiddenSizes = [.. options.HiddenSizes] };
        TorchRuntime.Enter();
        return TorchException.Wrap("create backbone classifier", () => new BackboneClassifier(options, classes));
    }

    /// <summary>
    /// One SGD step on a batch: <paramref name="images"/> [count, InputChannels, height, width],
    /// <paramref name="labels"/> [count] in 0..Classes-1. Returns the mean cross-entropy.
    /// </summary>
    public float TrainStep(ReadOnlySpan<float> images, int count, int height, int width, ReadOnlySpan<int> labels, float learningRate)
    {
        var input = Input(images, count, height, width);
        HeadInputChecks.Length(labels.Length, count, nameof(labels), $"[count={count}]");
        foreach (var label in labels)
        {
            if (label < 0 || label >= Classes)
            {
                throw new ArgumentException($"label {label} is outside 0..{Classes - 1}.", nameof(labels));
            }
        }

        if (!(float.IsFinite(learningRate) && learningRate >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "learningRate must be a finite number >= 0.");
        }

        var targets = labels.ToArray().Select(l => (long)l).ToArray();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            TorchRuntime.Enter();
            return TorchException.Wrap("pretrain step", () =>
            {
                using var scope = NewDisposeScope();
                _optimizer.ZeroGradients();
                var loss = nn.functional.cross_entropy(Logits(tensor(input, [count, Options.InputChannels, height, width])), tensor(targets, [count]));
                loss.backward();
                _optimizer.Step(learningRate);
                return loss.item<float>();
            });
        }
    }

    /// <summary>The most likely class of each image (no graph, no gradients).</summary>
    public int[] Predict(ReadOnlySpan<float> images, int count, int height, int width)
    {
        var input = Input(images, count, height, width);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            TorchRuntime.Enter();
            return TorchException.Wrap("pretrain predict", () =>
            {
                using var scope = NewDisposeScope();
                using var inference = inference_mode();
                var best = Logits(tensor(input, [count, Options.InputChannels, height, width])).argmax(1);
                return best.data<long>().Select(v => (int)v).ToArray();
            });
        }
    }

    /// <summary>Copies of the backbone's parameters under the detector's names (<c>backbone.conv1.weight</c>, ...).</summary>
    public IReadOnlyList<(TorchParameter Info, float[] Values)> BackboneParameters()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return [.. _backbone.named_parameters().Select(p => (
                new TorchParameter(BackbonePrefix + p.name, p.parameter.shape),
                RoiPooling.Floats(p.parameter.contiguous()).ToArray()))];
        }
    }

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
            _classifier.Dispose();
            _backbone.Dispose();
        }
    }

    private float[] Input(ReadOnlySpan<float> images, int count, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, Options.Stride);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, Options.Stride);
        HeadInputChecks.Length(images.Length, (long)count * Options.InputChannels * height * width, nameof(images),
            $"[count={count}, InputChannels={Options.InputChannels}, height={height}, width={width}]");
        return images.ToArray();
    }

    // Global average pool over the feature map, then the linear classifier.
    private Tensor Logits(Tensor images) => _classifier.call(_backbone.call(images).mean([2L, 3L]));
}
