using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Onnx.Tests.Export;

namespace Ohem.Onnx.Tests.Engine;

/// <summary>Sessions on ONNX Runtime's managed API as OnnxSessions builds them, and the execution-provider choice.</summary>
public class OnnxSessionsTests
{
    private static (float[] Cls, float[] Box) Run(byte[] model, float[] features, int[] featureShape, float[] rois, int classes)
    {
        using var session = OnnxSessions.Create(model);
        var r = rois.Length / 5;
        var cls = new float[r * (classes + 1)];
        var box = new float[r * 4 * (classes + 1)];
        OnnxSessions.Run(
            session,
            new Dictionary<string, (float[], long[])>
            {
                ["features"] = (features, [.. featureShape.Select(d => (long)d)]),
                ["rois"] = (rois, [r, 5]),
            },
            new Dictionary<string, (float[], long[])>
            {
                ["cls_score"] = (cls, [r, classes + 1]),
                ["bbox_pred"] = (box, [r, 4 * (classes + 1)]),
            });
        return (cls, box);
    }

    private static float MaxAbsDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(x => Math.Abs(x.First - x.Second));
    }

    [Fact]
    public void Reads_the_torch_models_inputs_and_outputs_with_symbolic_dimensions()
    {
        var fixture = TorchHeadFixture.Load();
        using var session = OnnxSessions.Create(fixture.ModelBytes);
        Assert.Equal(["features", "rois"], session.InputNames);
        Assert.Equal(["cls_score", "bbox_pred"], session.OutputNames);
        Assert.All(session.InputMetadata.Values.Concat(session.OutputMetadata.Values), n => Assert.Equal(TensorElementType.Float, n.ElementDataType));
        Assert.Equal([-1, fixture.Spec.Channels, -1, -1], session.InputMetadata["features"].Dimensions);
        Assert.Equal([-1, 5], session.InputMetadata["rois"].Dimensions);
        Assert.Equal([-1, fixture.Spec.NumClasses + 1], session.OutputMetadata["cls_score"].Dimensions);
    }

    [Fact]
    public void The_torch_exported_model_reproduces_torch_eager_outputs()
    {
        var f = TorchHeadFixture.Load();
        var (cls, box) = Run(f.ModelBytes, f.Features, f.FeaturesShape, f.Rois, f.Spec.NumClasses);
        Assert.True(MaxAbsDifference(cls, f.ExpectedClsScore) <= 1e-5f);
        Assert.True(MaxAbsDifference(box, f.ExpectedBboxPred) <= 1e-5f);
    }

    [Fact]
    public void Our_exporter_and_torch_onnx_export_give_the_same_outputs_for_the_same_weights()
    {
        var f = TorchHeadFixture.Load();
        var ours = RoiHeadExporter.Export(f.Spec, f.Weights);
        var (cls, box) = Run(ours, f.Features, f.FeaturesShape, f.Rois, f.Spec.NumClasses);
        var (torchCls, torchBox) = Run(f.ModelBytes, f.Features, f.FeaturesShape, f.Rois, f.Spec.NumClasses);
        Assert.True(MaxAbsDifference(cls, torchCls) <= 1e-5f, $"cls differs by {MaxAbsDifference(cls, torchCls)}");
        Assert.True(MaxAbsDifference(box, torchBox) <= 1e-5f, $"bbox differs by {MaxAbsDifference(box, torchBox)}");

        // And on inputs neither side has seen: a bigger map and random boxes.
        var rng = new Random(5);
        int[] shape = [2, f.Spec.Channels, 17, 23];
        var features = TestModels.RandomFeatures(shape.Aggregate(1, (a, d) => a * d), 6);
        var rois = Enumerable.Range(0, 64).SelectMany(_ =>
        {
            float x1 = rng.Next(-8, 90), y1 = rng.Next(-8, 70);
            return new[] { rng.Next(2), x1, y1, x1 + rng.Next(0, 40), y1 + rng.Next(0, 40) };
        }).ToArray();
        var a = Run(ours, features, shape, rois, f.Spec.NumClasses);
        var b = Run(f.ModelBytes, features, shape, rois, f.Spec.NumClasses);
        Assert.True(MaxAbsDifference(a.Cls, b.Cls) <= 1e-5f, $"cls differs by {MaxAbsDifference(a.Cls, b.Cls)} on random inputs");
        Assert.True(MaxAbsDifference(a.Box, b.Box) <= 1e-5f, $"bbox differs by {MaxAbsDifference(a.Box, b.Box)} on random inputs");
    }

    [Fact]
    public void Corrupt_bytes_fail_with_onnx_runtimes_message()
    {
        var e = Assert.Throws<OnnxRuntimeException>(() => OnnxSessions.Create([8, 1, 18, 3, 0xff, 0xff]));
        Assert.Contains("protobuf", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Cpu_only_options_run_on_the_cpu_without_probing_cuda() =>
        Assert.Equal(OnnxSessions.Cpu, OnnxSessions.ExecutionProvider(new OnnxSessionOptions()));

    [Fact]
    public void Cuda_falls_back_to_cpu_with_one_log_line_when_preferred_and_fails_naming_what_is_missing_when_required()
    {
        // A device id no other test uses: the choice and its log line are made once per process and device.
        var preferred = new OnnxSessionOptions { ExecutionProviders = ["cuda", "cpu"], CudaDeviceId = 3 };
        var log = new LineLogger();
        var provider = OnnxSessions.ExecutionProvider(preferred, log);
        Assert.Equal(provider, OnnxSessions.ExecutionProvider(preferred, log));
        Assert.Single(log.Lines);
        if (provider == OnnxSessions.Cuda)
        {
            Assert.Contains("CUDA execution provider (device 3)", log.Lines[0].Text);
            return; // a machine with CUDA 13, cuDNN 9 and a fourth GPU: nothing more to learn here
        }

        Assert.Equal(OnnxSessions.Cpu, provider);
        Assert.Equal(LogLevel.Warning, log.Lines[0].Level);
        Assert.Contains("runs on the CPU", log.Lines[0].Text);
        Assert.Contains("device 3", log.Lines[0].Text);

        // Sessions (and the scorer's versions) then run on the CPU.
        var model = RoiHeadExporter.Export(TestModels.Tiny, RoiHeadExporter.RandomWeights(TestModels.Tiny, 1));
        Assert.Equal("CPU", ScoringModel.Load(model, options: preferred).ExecutionProvider);

        var required = new OnnxSessionOptions { ExecutionProviders = ["cuda"], CudaDeviceId = 3, CudaRequired = true };
        var e = Assert.Throws<CudaUnavailableException>(() => OnnxSessions.ExecutionProvider(required));
        Assert.Contains("CudaRequired", e.Message);
        Assert.Contains("device 3", e.Message);
        Assert.Contains("CUDA 13", e.Message);
        Assert.Contains("cuDNN 9", e.Message);
        // ONNX Runtime's own reason names the library it could not load (or the missing device).
        Assert.Matches(@"lib\w+\.so|device|CUDA", e.Message[..e.Message.IndexOf(". It needs", StringComparison.Ordinal)]);
        Assert.Throws<CudaUnavailableException>(() => ScoringModel.Load(model, options: required));
    }

    [Fact]
    public void Unknown_provider_negative_device_and_unknown_binding_names_are_rejected_by_name()
    {
        var bad = Assert.Throws<ArgumentException>(() => OnnxSessions.ExecutionProvider(new OnnxSessionOptions { ExecutionProviders = ["tpu"] }));
        Assert.Contains("tpu", bad.Message);
        Assert.Equal("ExecutionProviders", bad.ParamName);
        var device = Assert.Throws<ArgumentOutOfRangeException>(() => OnnxSessions.ExecutionProvider(new OnnxSessionOptions { CudaDeviceId = -1 }));
        Assert.Equal("CudaDeviceId", device.ParamName);

        using var session = OnnxSessions.Create(RoiHeadExporter.Export(TestModels.Tiny, RoiHeadExporter.RandomWeights(TestModels.Tiny, 1)));
        var e = Assert.Throws<ArgumentException>(() => OnnxSessions.Run(
            session,
            new Dictionary<string, (float[], long[])> { ["feats"] = (new float[8], [1, 2, 2, 2]) },
            new Dictionary<string, (float[], long[])>()));
        Assert.Contains("feats", e.Message);
        Assert.Contains("features", e.Message);
    }

    [Fact]
    public void The_package_runs_onnx_runtime_1_32_with_cuda_among_its_compiled_providers()
    {
        Assert.StartsWith("1.32.", OrtEnv.Instance().GetVersionString());
        // Listed whether or not its libraries load (ANCHORS.md): being listed proves nothing about running.
        Assert.Contains("CUDAExecutionProvider", OrtEnv.Instance().GetAvailableProviders());
    }

    private sealed class LineLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
