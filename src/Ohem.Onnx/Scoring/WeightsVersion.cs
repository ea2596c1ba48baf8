using Microsoft.ML.OnnxRuntime;

namespace Ohem.Onnx.Scoring;

/// <summary>
/// One installed weights version: a session built with the version's tensors as its initializers
/// (AddInitializer over the version's own arrays, which stay pinned and outlive the session). Reference-counted: the store holds
/// one reference while the version is current, every scoring in flight holds another, and the
/// native session and pins are freed when the last one goes.
/// </summary>
internal sealed class WeightsVersion
{
    private readonly OrtValue[] _tensors;
    private int _references = 1; // the store's

    public WeightsVersion(ulong version, InferenceSession session, OrtValue[] tensors, long bytes, HostPooling? hostPooling, int poolingThreads)
    {
        HostPooling = hostPooling;
        PoolingThreads = poolingThreads;
        Version = version;
        Session = session;
        _tensors = tensors;
        Bytes = bytes;
    }

    public ulong Version { get; }

    public InferenceSession Session { get; }

    /// <summary>Set when the session is the head after RoI pooling, which the scorer then does on the host.</summary>
    public HostPooling? HostPooling { get; }

    public int PoolingThreads { get; }

    /// <summary>Bytes of weight data this version pins.</summary>
    public long Bytes { get; }

    /// <summary>Takes a reference unless the version is already gone.</summary>
    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Session.Dispose();
            foreach (var t in _tensors)
            {
                t.Dispose(); // after the session, which reads them
            }
        }
    }
}

/// <summary>A scoring's hold on one weights version; dispose to let the version go.</summary>
public readonly struct WeightsLease : IDisposable
{
    private readonly WeightsVersion? _version;

    internal WeightsLease(WeightsVersion version) => _version = version;

    public ulong Version => _version?.Version ?? throw new InvalidOperationException("empty lease");

    internal InferenceSession Session => _version?.Session ?? throw new InvalidOperationException("empty lease");

    internal WeightsVersion Held => _version ?? throw new InvalidOperationException("empty lease");

    public void Dispose() => _version?.Release();
}
