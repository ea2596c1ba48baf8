using System.Numerics.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace Ohem.Onnx.Scoring;

/// <summary>
/// The weights versions of one job's scoring model. Installing a version builds its session aside
/// and swaps it in atomically, so scoring in flight is never blocked or failed; the newest
/// <see cref="WeightsStoreOptions.KeepVersions"/> stay available. A set with a missing, extra or
/// wrongly shaped tensor, a non-finite value, a version not above the newest, or more bytes than
/// the cap allows is rejected whole and the previous versions keep serving.
/// </summary>
public sealed class WeightsVersionStore : IDisposable
{
    private readonly ScoringModel _model;
    private readonly WeightsStoreOptions _options;
    private readonly OnnxSessionOptions _sessionOptions;
    private readonly ILogger? _logger;
    private readonly Lock _install = new();
    private WeightsVersion[] _versions = []; // oldest first; replaced whole, never mutated
    private TaskCompletionSource _installed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WeightsVersionStore(ScoringModel model, WeightsStoreOptions? options = null, OnnxSessionOptions? sessionOptions = null, ILogger? logger = null)
    {
        _model = model;
        _options = options ?? new WeightsStoreOptions();
        if (_options.KeepVersions < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.KeepVersions, "KeepVersions must be at least 1.");
        }

        _sessionOptions = sessionOptions ?? new OnnxSessionOptions();
        _logger = logger;
    }

    public ScoringModel Model => _model;

    /// <summary>Versions held, oldest first, with the bytes each pins.</summary>
    public IReadOnlyList<(ulong Version, long Bytes)> Held => [.. Volatile.Read(ref _versions).Select(v => (v.Version, v.Bytes))];

    public ulong? Newest => Volatile.Read(ref _versions) is { Length: > 0 } v ? v[^1].Version : null;

    public long BytesHeld => Volatile.Read(ref _versions).Sum(v => v.Bytes);

    /// <summary>
    /// Installs <paramref name="weights"/> (name to float32 values, row-major; the arrays become the
    /// version's and must not change afterwards) as <paramref name="version"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The set does not fit the model, or holds a non-finite value.</exception>
    /// <exception cref="StaleVersionException">The version is not above the newest held.</exception>
    /// <exception cref="WeightsCapacityException">Holding it would exceed the byte cap.</exception>
    public void Install(ulong version, IReadOnlyDictionary<string, float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var bytes = Validate(weights);
        lock (_install)
        {
            CheckNewer(version);
            var kept = _versions.Length >= _options.KeepVersions ? _versions[(_versions.Length - _options.KeepVersions + 1)..] : _versions;
            var after = kept.Sum(v => v.Bytes) + bytes;
            if (_options.MaxBytes is { } cap && after > cap)
            {
                throw new WeightsCapacityException(
                    $"weights version {version} needs {bytes} bytes; with the versions kept that is {after} bytes, over the cap of {cap}.");
            }

            var prepared = Prepare(version, weights, bytes);
            var retired = _versions.Except(kept).ToArray();
            Volatile.Write(ref _versions, [.. kept, prepared]);
            foreach (var old in retired)
            {
                old.Release(); // freed once the last scoring using it finishes
            }

            Interlocked.Exchange(ref _installed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>
    /// A hold on <paramref name="version"/> (or, when null, on the newest, which must be at least
    /// <paramref name="atLeast"/>), waiting up to <paramref name="wait"/> for it to be installed.
    /// </summary>
    /// <exception cref="VersionNotHeldException">Not installed in time, or already retired.</exception>
    public async Task<WeightsLease> AcquireAsync(ulong? version, ulong atLeast, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        while (true)
        {
            var installed = Volatile.Read(ref _installed).Task; // read before checking: no missed install
            var versions = Volatile.Read(ref _versions);
            var newest = versions.Length > 0 ? versions[^1].Version : (ulong?)null;
            var retired = version is { } v && newest is { } n && v < n && versions.All(x => x.Version != v);
            var ready = version is { } want ? versions.Any(x => x.Version == want) : newest is { } nv && nv >= atLeast;
            if (ready || retired)
            {
                return Acquire(version); // throws for a retired version: it will never come back
            }

            try
            {
                await installed.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new VersionNotHeldException(version ?? atLeast, [.. Volatile.Read(ref _versions).Select(x => x.Version)],
                    $"waited {wait.TotalSeconds:0.#} s");
            }
        }
    }

    /// <summary>A hold on <paramref name="version"/>, or on the newest when null.</summary>
    /// <exception cref="VersionNotHeldException">That version is not (or no longer) held.</exception>
    public WeightsLease Acquire(ulong? version = null)
    {
        while (true)
        {
            var versions = Volatile.Read(ref _versions);
            var chosen = version is { } v ? versions.FirstOrDefault(x => x.Version == v) : versions.LastOrDefault();
            if (chosen is null)
            {
                throw new VersionNotHeldException(version, [.. versions.Select(x => x.Version)]);
            }

            if (chosen.TryAcquire())
            {
                return new WeightsLease(chosen);
            }

            // Retired between the read and the acquire: look again.
        }
    }

    public void Dispose()
    {
        lock (_install)
        {
            foreach (var v in _versions)
            {
                v.Release();
            }

            _versions = [];
        }
    }

    private void CheckNewer(ulong version)
    {
        if (Newest is { } newest && version <= newest)
        {
            throw new StaleVersionException($"weights version {version} is not above the newest held, {newest}; versions only grow within a job.");
        }
    }

    private long Validate(IReadOnlyDictionary<string, float[]> weights)
    {
        long bytes = 0;
        foreach (var expected in _model.Weights)
        {
            if (!weights.TryGetValue(expected.Name, out var values))
            {
                throw new ArgumentException($"weights lack \"{expected.Name}\" {expected}; the model needs {_model.Weights.Count} tensors.", nameof(weights));
            }

            if (values.LongLength != expected.ElementCount)
            {
                throw new ArgumentException($"weight \"{expected.Name}\" has {values.Length} values; expected {expected.ElementCount} for shape {expected}.", nameof(weights));
            }

            if (!TensorPrimitives.IsFiniteAll<float>(values))
            {
                var bad = Array.FindIndex(values, v => !float.IsFinite(v));
                throw new ArgumentException($"weight \"{expected.Name}\" has a non-finite value ({values[bad]}) at index {bad}.", nameof(weights));
            }

            bytes += values.LongLength * sizeof(float);
        }

        foreach (var name in weights.Keys)
        {
            if (!_model.WeightsByName.ContainsKey(name))
            {
                throw new ArgumentException($"weights have \"{name}\", which is not a weight of the model (it has {string.Join(", ", _model.Weights.Select(w => w.Name))}).", nameof(weights));
            }
        }

        return bytes;
    }

    private WeightsVersion Prepare(ulong version, IReadOnlyDictionary<string, float[]> weights, long bytes)
    {
        var tensors = new List<OrtValue>(_model.Weights.Count);
        try
        {
            foreach (var w in _model.Weights)
            {
                tensors.Add(OrtValue.CreateTensorValueFromMemory(weights[w.Name], w.Shape)); // pinned, not copied
            }

            var initializers = _model.Weights.Select((w, i) => new KeyValuePair<string, OrtValue>(w.Name, tensors[i])).ToArray();
            // On the CPU the head runs after RoI pooling on the host (when the options ask for it and
            // the graph allows); on CUDA the whole graph runs on the device.
            var split = _sessionOptions.PoolRoisOnHost && OnnxSessions.ExecutionProvider(_sessionOptions, _logger) == OnnxSessions.Cpu
                ? _model.HostPooling
                : null;
            var session = OnnxSessions.Create(split?.HeadModel ?? _model.ModelBytes, _sessionOptions, initializers, _logger, out _);
            var threads = _sessionOptions.IntraOpThreads > 0 ? _sessionOptions.IntraOpThreads : Environment.ProcessorCount;
            return new WeightsVersion(version, session, [.. tensors], bytes, split, threads);
        }
        catch
        {
            foreach (var t in tensors)
            {
                t.Dispose();
            }

            throw;
        }
    }
}

/// <summary>A weights version at or below the newest held: versions only grow within a job.</summary>
public sealed class StaleVersionException(string message) : Exception(message);

/// <summary>Holding a version would exceed the configured byte cap.</summary>
public sealed class WeightsCapacityException(string message) : Exception(message);

/// <summary>The requested weights version is not held; says which are.</summary>
public sealed class VersionNotHeldException(ulong? requested, IReadOnlyList<ulong> held, string? waited = null)
    : Exception((requested is { } r
        ? $"weights version {r} is not held; held: {(held.Count == 0 ? "none" : string.Join(", ", held))}."
        : "no weights version is installed yet.") + (waited is null ? "" : $" ({waited})"))
{
    public ulong? Requested { get; } = requested;

    public IReadOnlyList<ulong> Held { get; } = held;
}
