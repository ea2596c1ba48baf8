namespace Ohem.Torch.Tests;

/// <summary>Handles, misuse and bad arguments: clear managed exceptions, never a crash.</summary>
public class LifetimeTests
{
    private static readonly float[] Image = TestData.Uniform(2 * 16 * 16, new Random(1), 0f, 1f);
    private static readonly float[] TwoRois = [0, 0, 0, 8, 8, 1, 2, 2, 15, 15];

    [Fact]
    public void Dispose_twice_is_harmless_and_use_after_dispose_throws_ObjectDisposed()
    {
        var detector = Detector.Create(TestData.Small());
        var features = detector.Backbone(Image, 2, 16, 16);
        features.Dispose();
        features.Dispose();
        Assert.Throws<ObjectDisposedException>(() => features.CopyTo(new float[features.ElementCount]));
        Assert.Throws<ObjectDisposedException>(() => detector.InferHead(features, TwoRois, new float[8], new float[32]));

        detector.Dispose();
        detector.Dispose();
        Assert.Throws<ObjectDisposedException>(() => detector.Backbone(Image, 2, 16, 16));
        Assert.Throws<ObjectDisposedException>(() => detector.Step(0.1f));
        Assert.Throws<ObjectDisposedException>(() => detector.Parameter("fc6.weight"));
        Assert.Throws<ObjectDisposedException>(() => detector.HeadWeights());
        Assert.Throws<ObjectDisposedException>(() => detector.Save("x.pt"));
    }

    [Fact]
    public void Feature_maps_outlive_their_detector_and_are_refused_by_another()
    {
        var detector = Detector.Create(TestData.Small());
        using var features = detector.Backbone(Image, 2, 16, 16);
        using var other = Detector.Create(TestData.Small());
        var e = Assert.Throws<ArgumentException>(() => other.InferHead(features, TwoRois, new float[8], new float[32]));
        Assert.Equal("features", e.ParamName);
        detector.Dispose();
        Assert.Equal(features.ElementCount, features.ToArray().Length); // the values are the feature maps' own
        Assert.Throws<ObjectDisposedException>(() => detector.InferHead(features, TwoRois, new float[8], new float[32]));
    }

    [Fact]
    public void A_second_training_pass_through_the_same_feature_maps_throws_but_inference_still_works()
    {
        using var detector = Detector.Create(TestData.Small());
        using var features = detector.Backbone(Image, 2, 16, 16);
        int[] labels = [1, 0];
        float[] targets = new float[8];
        detector.TrainHead(features, TwoRois, labels, targets, [], new float[2]);
        Assert.True(features.Trained);
        var e = Assert.Throws<InvalidOperationException>(() => detector.TrainHead(features, TwoRois, labels, targets, [], new float[2]));
        Assert.Contains("Run Backbone again", e.Message, StringComparison.Ordinal);
        detector.InferHead(features, TwoRois, new float[8], new float[32]);
    }

    [Fact]
    public void Feature_maps_from_before_a_backbone_change_can_be_read_but_not_trained_through()
    {
        using var detector = Detector.Create(TestData.Small());
        int[] labels = [1, 0];
        var targets = new float[8];

        using var beforeStep = detector.Backbone(Image, 2, 16, 16);
        detector.Step(0.1f);
        var e = Assert.Throws<InvalidOperationException>(() => detector.TrainHead(beforeStep, TwoRois, labels, targets, [], new float[2]));
        Assert.Contains("Run Backbone again", e.Message, StringComparison.Ordinal);
        detector.InferHead(beforeStep, TwoRois, new float[8], new float[32]);

        // A head weight leaves the backbone's graph valid; a backbone weight does not.
        using var beforeHeadChange = detector.Backbone(Image, 2, 16, 16);
        using var beforeBackboneChange = detector.Backbone(Image, 2, 16, 16);
        detector.SetParameter("cls_score.bias", [0f, 1f, 0f, 0f]);
        detector.TrainHead(beforeHeadChange, TwoRois, labels, targets, [], new float[2]);
        detector.SetParameter("backbone.conv1.bias", new float[4]);
        Assert.Throws<InvalidOperationException>(() => detector.TrainHead(beforeBackboneChange, TwoRois, labels, targets, [], new float[2]));
    }

    [Fact]
    public void SetParameter_and_CopyParameter_name_the_parameter_and_the_expected_size()
    {
        using var detector = Detector.Create(TestData.Small());
        var e = Assert.Throws<ArgumentException>(() => detector.SetParameter("fc6.weight", new float[10]));
        Assert.Equal("source", e.ParamName);
        Assert.Contains("'fc6.weight' [16, 72] = 1152", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => detector.SetParameter("fc9.weight", new float[10]));
        Assert.Equal("name", e.ParamName);
        Assert.Contains("no parameter 'fc9.weight'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => detector.CopyParameter("cls_score.bias", new float[3]));
        Assert.Equal("destination", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => detector.SetParameter("cls_score.bias", [0f, float.NaN, 0f, 0f]));
        Assert.Equal("source", e.ParamName);
        Assert.Contains("source[1] is NaN", e.Message, StringComparison.Ordinal);

        detector.SetParameter("cls_score.bias", [1f, 2f, 3f, 4f]);
        Assert.Equal([1f, 2f, 3f, 4f], detector.Parameter("cls_score.bias"));
    }

    public static TheoryData<string, float[], int[], float[], float[], int, string> BadHeadInputs => new()
    {
        { "odd rois length", [0, 0, 0, 4], [1], new float[4], [], 1, "rois" },
        { "batch index past the images", [2, 0, 0, 4, 4], [1], new float[4], [], 1, "rois" },
        { "fractional batch index", [0.5f, 0, 0, 4, 4], [1], new float[4], [], 1, "rois" },
        { "x2 < x1", [0, 5, 0, 4, 4], [1], new float[4], [], 1, "rois" },
        { "infinite coordinate", [0, 0, 0, float.PositiveInfinity, 4], [1], new float[4], [], 1, "rois" },
        { "label above K", [0, 0, 0, 4, 4], [4], new float[4], [], 1, "labels" },
        { "label below -1", [0, 0, 0, 4, 4], [-2], new float[4], [], 1, "labels" },
        { "labels length", [0, 0, 0, 4, 4], [1, 1], new float[4], [], 1, "labels" },
        { "targets length", [0, 0, 0, 4, 4], [1], new float[3], [], 1, "targets" },
        { "NaN target", [0, 0, 0, 4, 4], [1], [0, float.NaN, 0, 0], [], 1, "targets" },
        { "weights length", [0, 0, 0, 4, 4], [1], new float[4], [1, 1], 1, "weights" },
        { "negative weight", [0, 0, 0, 4, 4], [1], new float[4], [-1], 1, "weights" },
        { "loss length", [0, 0, 0, 4, 4], [1], new float[4], [], 2, "perRoiLoss" },
    };

    [Theory]
    [MemberData(nameof(BadHeadInputs))]
    public void TrainHead_rejects_bad_inputs_naming_the_field_and_leaves_the_feature_maps_usable(
        string why, float[] rois, int[] labels, float[] targets, float[] weights, int lossLength, string field)
    {
        using var detector = Detector.Create(TestData.Small());
        using var features = detector.Backbone(Image, 2, 16, 16);
        var e = Assert.Throws<ArgumentException>(() => detector.TrainHead(features, rois, labels, targets, weights, new float[lossLength]));
        Assert.True(field == e.ParamName, $"{why}: {e.ParamName}: {e.Message}");
        Assert.False(features.Trained);
        detector.TrainHead(features, [0, 0, 0, 4, 4], [1], new float[4], [], new float[1]);
    }

    [Fact]
    public void InferHead_and_Backbone_check_their_sizes()
    {
        using var detector = Detector.Create(TestData.Small());
        using var features = detector.Backbone(Image, 2, 16, 16);
        Assert.Equal("clsScores", Assert.Throws<ArgumentException>(() => detector.InferHead(features, TwoRois, new float[7], new float[32])).ParamName);
        Assert.Equal("bboxPred", Assert.Throws<ArgumentException>(() => detector.InferHead(features, TwoRois, new float[8], new float[31])).ParamName);
        Assert.Equal("images", Assert.Throws<ArgumentException>(() => detector.Backbone(Image, 2, 16, 15)).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => detector.Backbone(new float[6], 2, 3, 1)).ParamName);
        detector.InferHead(features, [], [], []); // no RoIs is fine
    }

    [Fact]
    public void Runtime_reports_libtorch_and_applies_the_thread_count_on_every_thread()
    {
        Assert.StartsWith("2.10.0", TorchRuntime.Version, StringComparison.Ordinal);
        Assert.Contains("(TorchSharp 0.107.0)", TorchRuntime.Version, StringComparison.Ordinal);
        Assert.Equal(1, TorchRuntime.Threads);
        var onAnotherThread = 0;
        var thread = new Thread(() => onAnotherThread = TorchRuntime.Threads);
        thread.Start();
        thread.Join();
        Assert.Equal(1, onAnotherThread);
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.SetThreads(0));
    }
}
