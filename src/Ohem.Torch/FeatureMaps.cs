using static TorchSharp.torch;

namespace Ohem.Torch;

/// <summary>
/// The backbone's output for a batch of images, float32 [Count, Channels, Height, Width], with the
/// graph back to the backbone's parameters. Any number of <see cref="Detector.InferHead"/> calls may
/// read it; one <see cref="Detector.TrainHead"/> trains through it and frees the graph, provided the
/// backbone's weights have not changed since (a <see cref="Detector.Step"/> in between makes the graph
/// stale).
/// </summary>
public sealed class FeatureMaps : IDisposable
{
    private Tensor? _value;

    internal FeatureMaps(Detector owner, Tensor value, long backboneVersion)
    {
        Owner = owner;
        BackboneVersion = backboneVersion;
        _value = value;
        Count = (int)value.shape[0];
        Channels = (int)value.shape[1];
        Height = (int)value.shape[2];
        Width = (int)value.shape[3];
    }

    /// <summary>N, the images.</summary>
    public int Count { get; }

    /// <summary>C.</summary>
    public int Channels { get; }

    /// <summary>H (image height / stride, rounded down per pool).</summary>
    public int Height { get; }

    /// <summary>W.</summary>
    public int Width { get; }

    /// <summary>N * C * H * W.</summary>
    public int ElementCount => Count * Channels * Height * Width;

    /// <summary>True once a training pass has run through these feature maps (their graph is gone).</summary>
    public bool Trained { get; internal set; }

    internal Detector Owner { get; }

    /// <summary>The detector's backbone weights version these were computed with.</summary>
    internal long BackboneVersion { get; }

    /// <summary>The tensor with its graph.</summary>
    internal Tensor Value
    {
        get
        {
            ThrowIfDisposed();
            return _value!;
        }
    }

    /// <summary>Copies the values, row-major [N, C, H, W], into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        ThrowIfDisposed();
        if (destination.Length != ElementCount)
        {
            throw new ArgumentException(
                $"destination holds {destination.Length} floats; the feature maps [{Count}, {Channels}, {Height}, {Width}] have {ElementCount}.",
                nameof(destination));
        }

        RoiPooling.Floats(Value).CopyTo(destination);
    }

    /// <summary>The values as a new array, row-major [N, C, H, W].</summary>
    public float[] ToArray()
    {
        var values = new float[ElementCount];
        CopyTo(values);
        return values;
    }

    /// <summary>Frees the tensor and its graph; a second call does nothing.</summary>
    public void Dispose() => Interlocked.Exchange(ref _value, null)?.Dispose();

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_value is null, this);
}
