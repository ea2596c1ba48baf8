using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ohem.Onnx.Native;

namespace Ohem.Onnx;

/// <summary>
/// An ONNX Runtime session over a model held in memory, in the spirit of ONNX Runtime's C#
/// InferenceSession: metadata of inputs and outputs, and runs that bind caller-owned buffers
/// (pinned, not copied) through an IoBinding. Runs may be called from many threads at once.
/// </summary>
public sealed unsafe class InferenceSession : IDisposable
{
    private readonly OrtSessionHandle _session = new();
    private readonly OrtApi _api;

    /// <param name="model">The ONNX model's bytes.</param>
    /// <param name="options">Threads, optimisation, execution providers.</param>
    /// <param name="initializers">Values that replace the model's initializers of the same name
    /// (AddInitializer); they must outlive the session, which the caller guarantees.</param>
    /// <param name="logger">Receives the line saying which execution provider runs, and why.</param>
    internal InferenceSession(
        ReadOnlySpan<byte> model,
        OnnxSessionOptions? options = null,
        IReadOnlyList<KeyValuePair<string, PinnedTensor>>? initializers = null,
        ILogger? logger = null)
    {
        options ??= new OnnxSessionOptions();
        options.Validate();
        logger ??= NullLogger.Instance;
        if (options.LibraryPath is not null)
        {
            OrtEnvironment.UseLibrary(options.LibraryPath);
        }

        var env = OrtEnvironment.Instance;
        _api = env.Api;
        using var sessionOptions = CreateOptions(options, initializers, logger, out var provider);
        ExecutionProvider = provider;
        nint session;
        fixed (byte* bytes = model)
        {
            _api.Check(_api.CreateSessionFromArray(env.Env.Pointer, bytes, (nuint)model.Length, sessionOptions.Pointer, &session),
                "CreateSessionFromArray");
        }

        _session.Attach(session);
        Inputs = ReadMetadata(input: true);
        Outputs = ReadMetadata(input: false);
        _inputNames = Inputs.ToDictionary(n => n.Name, n => Utf8(n.Name));
        _outputNames = Outputs.ToDictionary(n => n.Name, n => Utf8(n.Name));
    }

    /// <summary>Public entry for tests and tools: a session with the model's own initializers.</summary>
    public static InferenceSession Create(ReadOnlySpan<byte> model, OnnxSessionOptions? options = null, ILogger? logger = null) =>
        new(model, options, null, logger);

    public IReadOnlyList<NodeMetadata> Inputs { get; }

    public IReadOnlyList<NodeMetadata> Outputs { get; }

    /// <summary>"CUDA" or "CPU": the provider this session runs on.</summary>
    public string ExecutionProvider { get; }

    private readonly Dictionary<string, byte[]> _inputNames;
    private readonly Dictionary<string, byte[]> _outputNames;

    /// <summary>Runs once: binds every input and every preallocated output by name.</summary>
    internal void Run(ReadOnlySpan<KeyValuePair<string, PinnedTensor>> inputs, ReadOnlySpan<KeyValuePair<string, PinnedTensor>> outputs)
    {
        ObjectDisposedException.ThrowIf(_session.IsClosed, this);
        using var binding = new OrtIoBindingHandle();
        nint raw;
        _api.Check(_api.CreateIoBinding(_session.Pointer, &raw), "CreateIoBinding");
        binding.Attach(raw);
        foreach (var (name, tensor) in inputs)
        {
            fixed (byte* n = Name(_inputNames, name, "input"))
            {
                _api.Check(_api.BindInput(binding.Pointer, n, tensor.Value), $"BindInput({name})");
            }
        }

        foreach (var (name, tensor) in outputs)
        {
            fixed (byte* n = Name(_outputNames, name, "output"))
            {
                _api.Check(_api.BindOutput(binding.Pointer, n, tensor.Value), $"BindOutput({name})");
            }
        }

        _api.Check(_api.RunWithBinding(_session.Pointer, 0, binding.Pointer), "Run");
    }

    /// <summary>
    /// Runs with float32 inputs and outputs given as arrays and shapes; the outputs are written in
    /// place. For tests and tools; the scorer binds its own pooled buffers.
    /// </summary>
    public void Run(IReadOnlyDictionary<string, (float[] Data, long[] Shape)> inputs, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> outputs)
    {
        var bound = new List<KeyValuePair<string, PinnedTensor>>();
        try
        {
            foreach (var (name, (data, shape)) in inputs)
            {
                bound.Add(new(name, new PinnedTensor(data, shape)));
            }

            var inputCount = bound.Count;
            foreach (var (name, (data, shape)) in outputs)
            {
                bound.Add(new(name, new PinnedTensor(data, shape)));
            }

            var all = bound.ToArray();
            Run(all.AsSpan(0, inputCount), all.AsSpan(inputCount));
        }
        finally
        {
            foreach (var (_, tensor) in bound)
            {
                tensor.Dispose();
            }
        }
    }

    public void Dispose() => _session.Dispose();

    private static byte[] Name(Dictionary<string, byte[]> names, string name, string kind) =>
        names.TryGetValue(name, out var utf8)
            ? utf8
            : throw new ArgumentException($"the model has no {kind} named \"{name}\"; it has {string.Join(", ", names.Keys)}.", nameof(name));

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s + "\0");

    private OrtSessionOptionsHandle CreateOptions(
        OnnxSessionOptions options, IReadOnlyList<KeyValuePair<string, PinnedTensor>>? initializers, ILogger logger, out string provider)
    {
        var handle = new OrtSessionOptionsHandle();
        try
        {
            nint raw;
            _api.Check(_api.CreateSessionOptions(&raw), "CreateSessionOptions");
            handle.Attach(raw);
            _api.Check(_api.SetIntraOpNumThreads(raw, options.IntraOpThreads), "SetIntraOpNumThreads");
            _api.Check(_api.SetInterOpNumThreads(raw, options.InterOpThreads), "SetInterOpNumThreads");
            _api.Check(_api.SetSessionGraphOptimizationLevel(raw, (int)options.GraphOptimization), "SetSessionGraphOptimizationLevel");
            foreach (var (name, value) in initializers ?? [])
            {
                fixed (byte* n = Utf8(name))
                {
                    _api.Check(_api.AddInitializer(raw, n, value.Value), $"AddInitializer({name})");
                }
            }

            provider = "CPU";
            if (options.ExecutionProviders.Contains("cuda"))
            {
                try
                {
                    AppendCuda(raw, options.CudaDeviceId);
                    provider = "CUDA";
                    OnnxLog.RunsOnCuda(logger, options.CudaDeviceId);
                }
                catch (OrtException e) when (!options.CudaRequired)
                {
                    OnnxLog.CudaFellBackToCpu(logger, e.Message);
                }
            }
            else
            {
                OnnxLog.RunsOnCpu(logger);
            }

            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private void AppendCuda(nint sessionOptions, int deviceId)
    {
        using var cuda = new OrtCudaOptionsHandle();
        nint raw;
        _api.Check(_api.CreateCUDAProviderOptions(&raw), "CreateCUDAProviderOptions");
        cuda.Attach(raw);
        fixed (byte* key = "device_id\0"u8)
        fixed (byte* value = Utf8(deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            var keys = stackalloc byte*[] { key };
            var values = stackalloc byte*[] { value };
            _api.Check(_api.UpdateCUDAProviderOptions(raw, keys, values, 1), "UpdateCUDAProviderOptions");
        }

        _api.Check(_api.SessionOptionsAppendExecutionProvider_CUDA_V2(sessionOptions, raw), "SessionOptionsAppendExecutionProvider_CUDA_V2");
    }

    private NodeMetadata[] ReadMetadata(bool input)
    {
        nuint count;
        _api.Check(input ? _api.SessionGetInputCount(_session.Pointer, &count) : _api.SessionGetOutputCount(_session.Pointer, &count),
            "SessionGetInputCount/OutputCount");
        var result = new NodeMetadata[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* name;
            _api.Check(input
                ? _api.SessionGetInputName(_session.Pointer, i, OrtEnvironment.Instance.DefaultAllocator, &name)
                : _api.SessionGetOutputName(_session.Pointer, i, OrtEnvironment.Instance.DefaultAllocator, &name), "SessionGetInputName/OutputName");
            var text = _api.TakeString(name);
            using var typeInfo = new OrtTypeInfoHandle();
            nint info;
            _api.Check(input ? _api.SessionGetInputTypeInfo(_session.Pointer, i, &info) : _api.SessionGetOutputTypeInfo(_session.Pointer, i, &info),
                "SessionGetInputTypeInfo/OutputTypeInfo");
            typeInfo.Attach(info);
            int onnxType;
            _api.Check(_api.GetOnnxTypeFromTypeInfo(info, &onnxType), "GetOnnxTypeFromTypeInfo");
            if (onnxType != 1 /* ONNX_TYPE_TENSOR */)
            {
                result[(int)i] = new NodeMetadata(text, OrtElementType.Undefined, []);
                continue;
            }

            nint tensorInfo; // owned by typeInfo: not released separately
            _api.Check(_api.CastTypeInfoToTensorInfo(info, &tensorInfo), "CastTypeInfoToTensorInfo");
            OrtElementType elementType;
            _api.Check(_api.GetTensorElementType(tensorInfo, &elementType), "GetTensorElementType");
            nuint rank;
            _api.Check(_api.GetDimensionsCount(tensorInfo, &rank), "GetDimensionsCount");
            var dims = new long[(int)rank];
            fixed (long* d = dims)
            {
                _api.Check(_api.GetDimensions(tensorInfo, d, rank), "GetDimensions");
            }

            result[(int)i] = new NodeMetadata(text, elementType, dims);
        }

        return result;
    }
}
