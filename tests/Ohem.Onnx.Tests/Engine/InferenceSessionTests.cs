using Ohem.Onnx.Export;
using Ohem.Onnx.Native;
using Ohem.Onnx.Tests.Export;

namespace Ohem.Onnx.Tests.Engine;

public class InferenceSessionTests
{
    private static (float[] Cls, float[] Box) Run(byte[] model, float[] features, int[] featureShape, float[] rois, int classes)
    {
        using var session = InferenceSession.Create(model);
        var r = rois.Length / 5;
        var cls = new float[r * (classes + 1)];
        var box = new float[r * 4 * (classes + 1)];
        session.Run(
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
        using var session = InferenceSession.Create(fixture.ModelBytes);
        Assert.Equal(["features", "rois"], session.Inputs.Select(i => i.Name));
        Assert.Equal(["cls_score", "bbox_pred"], session.Outputs.Select(o => o.Name));
        Assert.All(session.Inputs.Concat(session.Outputs), n => Assert.Equal(OrtElementType.Float, n.ElementType));
        Assert.Equal([-1, fixture.Spec.Channels, -1, -1], session.Inputs[0].Dimensions);
        Assert.Equal([-1, 5], session.Inputs[1].Dimensions);
        Assert.Equal([-1, fixture.Spec.NumClasses + 1], session.Outputs[0].Dimensions);
        Assert.Equal("CPU", session.ExecutionProvider);
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
    public void Corrupt_bytes_fail_with_ort_code_and_message()
    {
        var e = Assert.Throws<OrtException>(() => InferenceSession.Create([8, 1, 18, 3, 0xff, 0xff]));
        Assert.Equal(OrtErrorCode.InvalidProtobuf, e.Code);
        Assert.Contains("CreateSessionFromArray", e.Message);
    }

    [Fact]
    public void Cuda_falls_back_to_cpu_when_preferred_and_fails_when_required()
    {
        // The npm library compiles the CUDA provider in but does not ship its provider library.
        // Where a GPU build is on ORT_LIBRARY_PATH this test learns nothing, so it checks both ways.
        var model = RoiHeadExporter.Export(TestModels.Tiny, RoiHeadExporter.RandomWeights(TestModels.Tiny, 1));
        using var preferred = InferenceSession.Create(model, new OnnxSessionOptions { ExecutionProviders = ["cuda", "cpu"] });
        if (preferred.ExecutionProvider == "CPU")
        {
            var e = Assert.Throws<OrtException>(() =>
                InferenceSession.Create(model, new OnnxSessionOptions { ExecutionProviders = ["cuda"], CudaRequired = true }));
            Assert.Contains("CUDA", e.Message, StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            Assert.Equal("CUDA", preferred.ExecutionProvider);
        }
    }

    [Fact]
    public void Unknown_provider_and_unknown_binding_names_are_rejected_by_name()
    {
        var model = RoiHeadExporter.Export(TestModels.Tiny, RoiHeadExporter.RandomWeights(TestModels.Tiny, 1));
        var bad = Assert.Throws<ArgumentException>(() => InferenceSession.Create(model, new OnnxSessionOptions { ExecutionProviders = ["tpu"] }));
        Assert.Contains("tpu", bad.Message);

        using var session = InferenceSession.Create(model);
        var e = Assert.Throws<ArgumentException>(() => session.Run(
            new Dictionary<string, (float[], long[])> { ["feats"] = (new float[8], [1, 2, 2, 2]) },
            new Dictionary<string, (float[], long[])>()));
        Assert.Contains("feats", e.Message);
        Assert.Contains("features", e.Message);
    }

    [Fact]
    public void Library_lookup_order_is_configuration_then_environment_then_beside_the_binaries()
    {
        var previous = Environment.GetEnvironmentVariable("ORT_LIBRARY_PATH");
        try
        {
            Environment.SetEnvironmentVariable("ORT_LIBRARY_PATH", "/opt/ort-gpu/lib");
            var candidates = OrtLibrary.Candidates("/configured/libonnxruntime.so.1");
            Assert.Equal("/configured/libonnxruntime.so.1", candidates[0]);
            Assert.Equal("/opt/ort-gpu/lib", candidates[1]);
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, OrtLibrary.FileName), candidates[2]);
            Assert.Equal("1.30.0", OrtEnvironment.Instance.Version);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ORT_LIBRARY_PATH", previous);
        }
    }
}
