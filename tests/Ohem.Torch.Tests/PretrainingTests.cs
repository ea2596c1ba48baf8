namespace Ohem.Torch.Tests;

/// <summary>
/// The backbone's classification pretraining: the classifier learns, is seeded, and its backbone
/// starts a detector exactly (and only when every name and shape matches).
/// </summary>
public sealed class PretrainingTests : IDisposable
{
    private const int Side = 16;
    private readonly string _directory = Directory.CreateTempSubdirectory("ohem-pretrain-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Two classes a global average pool can tell apart: a bright 6x6 square anywhere, or only noise.</summary>
    private static (float[] Images, int[] Labels) Squares(int count, Random rng)
    {
        var images = TestData.Uniform(count * Side * Side, rng, 0f, 0.1f);
        var labels = new int[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = rng.Next(2);
            if (labels[i] == 1)
            {
                var (x0, y0) = (rng.Next(Side - 6), rng.Next(Side - 6));
                for (var y = y0; y < y0 + 6; y++)
                {
                    for (var x = x0; x < x0 + 6; x++)
                    {
                        images[(i * Side * Side) + (y * Side) + x] = 1f;
                    }
                }
            }
        }

        return (images, labels);
    }

    [Fact]
    public void The_classifier_learns_a_separable_problem()
    {
        using var classifier = BackboneClassifier.Create(TestData.Small(seed: 3), classes: 2);
        var rng = new Random(5);
        var (test, truth) = Squares(64, rng);
        var before = Accuracy(classifier.Predict(test, 64, Side, Side), truth);
        for (var step = 0; step < 60; step++)
        {
            var (images, labels) = Squares(16, rng);
            classifier.TrainStep(images, 16, Side, Side, labels, 0.1f);
        }

        var after = Accuracy(classifier.Predict(test, 64, Side, Side), truth);
        Assert.True(after >= 0.9, $"accuracy {after:P0} after 60 steps (before: {before:P0})");
    }

    [Fact]
    public void The_same_seed_gives_the_same_backbone_and_another_seed_another()
    {
        static float[] Trained(int seed)
        {
            using var classifier = BackboneClassifier.Create(TestData.Small(seed), classes: 2);
            var (images, labels) = Squares(8, new Random(1));
            classifier.TrainStep(images, 8, Side, Side, labels, 0.05f);
            return [.. classifier.BackboneParameters().SelectMany(p => p.Values)];
        }

        Assert.Equal(Trained(4), Trained(4));
        Assert.NotEqual(Trained(4), Trained(5));
    }

    [Fact]
    public void A_detector_starts_from_the_pretrained_backbone_and_keeps_its_head()
    {
        using var classifier = BackboneClassifier.Create(TestData.Small(seed: 7), classes: 3);
        var path = Path.Combine(_directory, "backbone.weights");
        BackboneWeights.Save(path, classifier.BackboneParameters());
        var loaded = BackboneWeights.Load(path);
        Assert.Equal(classifier.BackboneParameters().Select(p => p.Info), loaded.Select(p => p.Info));

        using var detector = Detector.Create(TestData.Small(seed: 8));
        var head = detector.HeadWeights();
        Assert.NotEqual(loaded[0].Values, detector.Parameter(loaded[0].Info.Name)); // different seeds: different start
        detector.LoadBackbone(loaded);
        foreach (var (info, values) in loaded)
        {
            Assert.Equal(values, detector.Parameter(info.Name));
        }

        Assert.All(detector.HeadWeights(), kv => Assert.Equal(head[kv.Key], kv.Value));
    }

    [Fact]
    public void Mismatched_backbones_are_named_and_change_nothing()
    {
        using var detector = Detector.Create(TestData.Small(seed: 8));
        var before = detector.Parameters.Select(p => detector.Parameter(p.Name)).ToList();
        using var wider = BackboneClassifier.Create(TestData.Small(seed: 1) with { BackboneChannels = [4, 6] }, classes: 2);
        var wide = wider.BackboneParameters();
        var e = Assert.Throws<ArgumentException>(() => detector.LoadBackbone(wide));
        Assert.Contains("backbone.conv", e.Message, StringComparison.Ordinal);

        using var same = BackboneClassifier.Create(TestData.Small(seed: 1), classes: 2);
        var good = same.BackboneParameters();
        Assert.Contains("no 'backbone.conv1.bias", Assert.Throws<ArgumentException>(() => detector.LoadBackbone([.. good.Where(p => p.Info.Name != "backbone.conv1.bias")])).Message, StringComparison.Ordinal);
        Assert.Contains("'fc6.weight'", Assert.Throws<ArgumentException>(() => detector.LoadBackbone([.. good, (new TorchParameter("fc6.weight", [1]), [0f])])).Message, StringComparison.Ordinal);
        var nan = good.Select((p, i) => i == 0 ? (p.Info, p.Values.Select(_ => float.NaN).ToArray()) : p).ToList();
        Assert.Throws<ArgumentException>(() => detector.LoadBackbone(nan));
        Assert.Equal(before, detector.Parameters.Select(p => detector.Parameter(p.Name)).ToList());
    }

    [Fact]
    public void A_file_that_is_not_backbone_weights_or_is_cut_short_is_invalid_data()
    {
        using var classifier = BackboneClassifier.Create(TestData.Small(seed: 7), classes: 2);
        var path = Path.Combine(_directory, "backbone.weights");
        BackboneWeights.Save(path, classifier.BackboneParameters());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 5)]);
        Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(path));
        File.WriteAllText(path, "not weights");
        Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(path));
        Assert.Throws<FileNotFoundException>(() => BackboneWeights.Load(Path.Combine(_directory, "missing")));
    }

    private static double Accuracy(int[] predicted, int[] truth) => predicted.Zip(truth).Count(p => p.First == p.Second) / (double)truth.Length;
}
