using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Ohem.Onnx.Export;

namespace Ohem.Onnx;

/// <summary>
/// ONNX Runtime sessions built as <see cref="OnnxSessionOptions"/> say. Whether the CUDA execution
/// provider can run is decided once per process and device, by building a one-node session on it:
/// ONNX Runtime lists CUDA among its available providers whether or not its libraries load, so only
/// a session that builds counts. Preferred CUDA that cannot run costs one log line, and CPU;
/// required CUDA that cannot run fails naming what is missing. The line is written once per process
/// and device, to the first logger given.
/// </summary>
public static class OnnxSessions
{
    public const string Cpu = "CPU", Cuda = "CUDA";

    private static readonly ConcurrentDictionary<int, Lazy<string?>> CudaProblems = new();
    private static readonly ConcurrentDictionary<int, bool> Logged = new();

    /// <summary>
    /// Where sessions built with <paramref name="options"/> run: <see cref="Cuda"/> or
    /// <see cref="Cpu"/>. The miner calls it at start, so required CUDA fails there.
    /// </summary>
    /// <exception cref="CudaUnavailableException">CUDA is required and cannot run.</exception>
    public static string ExecutionProvider(OnnxSessionOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!options.ExecutionProviders.Contains("cuda"))
        {
            return Cpu;
        }

        var device = options.CudaDeviceId;
        var problem = CudaProblems.GetOrAdd(device, d => new Lazy<string?>(() => ProbeCuda(d))).Value;
        if (problem is null)
        {
            if (logger is not null && Logged.TryAdd(device, true))
            {
                OnnxLog.RunsOnCuda(logger, device);
            }

            return Cuda;
        }

        if (options.CudaRequired)
        {
            throw new CudaUnavailableException(
                $"Onnx:ExecutionProviders asks for cuda on device {device} and Onnx:CudaRequired is set, but ONNX Runtime's CUDA " +
                $"execution provider cannot run: {problem}. It needs CUDA 13 (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, " +
                "libcurand.so.10), cuDNN 9 (libcudnn.so.9), the NVIDIA driver (libcuda.so.1) and that device.");
        }

        if (logger is not null && Logged.TryAdd(device, true))
        {
            OnnxLog.CudaFellBackToCpu(logger, device, problem);
        }

        return Cpu;
    }

    /// <summary>A session over <paramref name="model"/>; <paramref name="initializers"/> replace the
    /// model's initializers of the same name and must outlive the session.</summary>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime cannot load the model.</exception>
    public static InferenceSession Create(
        byte[] model, OnnxSessionOptions? options = null, IEnumerable<KeyValuePair<string, OrtValue>>? initializers = null, ILogger? logger = null) =>
        Create(model, options ?? new OnnxSessionOptions(), initializers, logger, out _);

    internal static InferenceSession Create(
        byte[] model, OnnxSessionOptions options, IEnumerable<KeyValuePair<string, OrtValue>>? initializers, ILogger? logger, out string provider)
    {
        provider = ExecutionProvider(options, logger);
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = options.InterOpThreads,
            GraphOptimizationLevel = options.GraphOptimization switch
            {
                GraphOptimization.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
                GraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                GraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
        };
        foreach (var (name, value) in initializers ?? [])
        {
            sessionOptions.AddInitializer(name, value);
        }

        if (provider == Cuda)
        {
            sessionOptions.AppendExecutionProvider_CUDA(options.CudaDeviceId);
        }

        return new InferenceSession(model, sessionOptions);
    }

    /// <summary>
    /// Runs once on float32 arrays: binds the inputs and the preallocated outputs by name (OrtValues
    /// over the arrays, not copies); the outputs are written in place. For tests and tools; the
    /// scorer binds its own pooled buffers.
    /// </summary>
    public static void Run(
        InferenceSession session, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> inputs, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> outputs)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var values = new List<OrtValue>();
        try
        {
            using var binding = session.CreateIoBinding();
            foreach (var (name, (data, shape)) in inputs)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(data, shape));
                binding.BindInput(Bound(session.InputNames, name, "input"), values[^1]);
            }

            foreach (var (name, (data, shape)) in outputs)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(data, shape));
                binding.BindOutput(Bound(session.OutputNames, name, "output"), values[^1]);
            }

            using var options = new RunOptions();
            session.RunWithBinding(options, binding);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static string Bound(IReadOnlyList<string> names, string name, string kind) =>
        names.Contains(name) ? name : throw new ArgumentException($"the model has no {kind} named \"{name}\"; it has {string.Join(", ", names)}.", nameof(name));

    /// <summary>Null when a session builds on the CUDA provider for <paramref name="device"/>; else ONNX Runtime's reason.</summary>
    private static string? ProbeCuda(int device)
    {
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(device);
            using var session = new InferenceSession(ProbeModel(), options);
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            return e.Message;
        }
    }

    private static byte[] ProbeModel()
    {
        var graph = new OnnxGraphBuilder("cuda_probe");
        graph.Input("x", 1);
        graph.Node("Relu", "relu", "y", ["x"]);
        graph.Output("y", 1);
        var model = new Export.OnnxProto.ModelProto { IrVersion = 8, ProducerName = "ohem", Graph = graph.Graph };
        model.OpsetImport.Add(new Export.OnnxProto.OperatorSetIdProto { Domain = "", Version = 17 });
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }
}

/// <summary>CUDA was required and its execution provider cannot run; the message says what is missing.</summary>
public sealed class CudaUnavailableException(string message) : Exception(message);
