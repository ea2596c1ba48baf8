namespace Ohem.Torch.Tests;

/// <summary>Save and Load: parameters and momentum round-trip exactly; mismatches are named; nothing changes on failure.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ohem-torch-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    private static float Train(Detector detector, int seed)
    {
        var rng = new Random(seed);
        using var features = detector.Backbone(TestData.Uniform(2 * 24 * 24, rng, 0f, 2f), 2, 24, 24);
        var rois = TestData.Rois(12, 2, 24, 24, rng);
        var perRoi = new float[12];
        return detector.TrainHead(features, rois, TestData.Labels(12, detector.Options.NumClasses, rng), TestData.Uniform(48, rng), [], perRoi);
    }

    private static (float[] Cls, float[] Box) Infer(Detector detector)
    {
        var rng = new Random(99);
        using var features = detector.Backbone(TestData.Uniform(2 * 24 * 24, rng, 0f, 2f), 2, 24, 24);
        var rois = TestData.Rois(10, 2, 24, 24, rng);
        var cls = new float[10 * detector.ClassScoreWidth];
        var box = new float[10 * detector.BoxDeltaWidth];
        detector.InferHead(features, rois, cls, box);
        return (cls, box);
    }

    [Fact]
    public void Load_restores_parameters_outputs_and_momentum_exactly()
    {
        using var original = Detector.Create(TestData.Small(seed: 1));
        Train(original, 1);
        original.Step(0.1f); // a non-zero momentum buffer
        var path = PathOf("detector.pt");
        original.Save(path);

        using var restored = Detector.Create(TestData.Small(seed: 2));
        restored.Load(path);
        foreach (var p in original.Parameters)
        {
            Assert.Equal(original.Parameter(p.Name), restored.Parameter(p.Name));
        }

        var (cls, box) = Infer(original);
        var (clsRestored, boxRestored) = Infer(restored);
        Assert.Equal(cls, clsRestored);
        Assert.Equal(box, boxRestored);

        // The same next step from both: equal only if the momentum came back too, which the same
        // parameters with a zero momentum show.
        using var parametersOnly = Detector.Create(TestData.Small(seed: 3));
        foreach (var p in original.Parameters)
        {
            parametersOnly.SetParameter(p.Name, restored.Parameter(p.Name));
        }

        foreach (var detector in new[] { original, restored, parametersOnly })
        {
            Train(detector, 2);
            detector.Step(0.1f);
        }

        foreach (var p in original.Parameters)
        {
            Assert.Equal(original.Parameter(p.Name), restored.Parameter(p.Name));
        }

        Assert.Contains(original.Parameters, p => !original.Parameter(p.Name).SequenceEqual(parametersOnly.Parameter(p.Name)));
    }

    [Fact]
    public void Load_names_the_first_mismatched_parameter_and_changes_nothing()
    {
        using var small = Detector.Create(TestData.Small());
        var path = PathOf("small.pt");
        small.Save(path);

        using var wider = Detector.Create(TestData.Small(seed: 3) with { HiddenSizes = [20, 12] });
        var before = wider.Parameters.Select(p => wider.Parameter(p.Name)).ToList();
        var e = Assert.Throws<TorchException>(() => wider.Load(path));
        Assert.Contains("'fc6.weight' [16, 72]; this detector's is [20, 72]", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, wider.Parameters.Select(p => wider.Parameter(p.Name))); // checked before anything was copied

        using var deeper = Detector.Create(TestData.Small() with { BackboneChannels = [4, 8, 8] });
        e = Assert.Throws<TorchException>(() => deeper.Load(path));
        Assert.Contains("has no parameter 'backbone.conv3.weight' [8, 8, 3, 3]", e.Message, StringComparison.Ordinal);

        using var shallow = Detector.Create(TestData.Small() with { HiddenSizes = [16] });
        e = Assert.Throws<TorchException>(() => shallow.Load(path));
        Assert.Contains("has parameter 'fc7.weight', which this detector does not have", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_is_a_TorchException_and_a_missing_one_FileNotFound()
    {
        using var detector = Detector.Create(TestData.Small());
        var garbage = PathOf("garbage.pt");
        File.WriteAllText(garbage, "not a libtorch archive");
        var e = Assert.Throws<TorchException>(() => detector.Load(garbage));
        Assert.StartsWith("load: ", e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => detector.Load(PathOf("missing.pt")));
        Assert.Throws<TorchException>(() => detector.Save(Path.Combine(_directory, "no-such-dir", "x.pt")));
    }
}
