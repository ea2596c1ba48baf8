using Ohem.Torch.Native;

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
    internal FeatureMaps(Detector owner, FeatureMapsHandle handle, long backboneVersion, int count, int channels, int height, int width)
    {
        Owner = owner;
        BackboneVersion = backboneVersion;
        Handle = handle;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
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

    internal FeatureMapsHandle Handle { get; }

    /// <summary>Copies the values, row-major [N, C, H, W], into <paramref name="destination"/>.</summary>
    public unsafe void CopyTo(Span<float> destination)
    {
        ThrowIfDisposed();
        if (destination.Length != ElementCount)
        {
            throw new ArgumentException(
                $"destination holds {destination.Length} floats; the feature maps [{Count}, {Channels}, {Height}, {Width}] have {ElementCount}.",
                nameof(destination));
        }

        fixed (float* d = destination)
        {
            TorchNative.Check(TorchNative.ohem_features_copy(Handle, d, destination.Length), "copy feature maps");
        }
    }

    /// <summary>The values as a new array, row-major [N, C, H, W].</summary>
    public float[] ToArray()
    {
        var values = new float[ElementCount];
        CopyTo(values);
        return values;
    }

    /// <summary>Frees the native tensor and graph; a second call does nothing.</summary>
    public void Dispose() => Handle.Dispose();

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
}
