using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Ohem.Onnx.Export;

namespace Ohem.Onnx.Tests.Export;

/// <summary>
/// The PyTorch RoI head fixture written by tools/onnx/export_torch_head.py into
/// Fixtures/torch_head: torch.onnx.export's model, its weights (in
/// <see cref="RoiHeadExporter.Weights(RoiHeadSpec)"/> order), fixed inputs and torch's eager
/// outputs on them. Every <see cref="Load"/> reads the files again (the arrays are the caller's to
/// change) and checks them against the manifest's sizes and SHA-256 digests.
/// </summary>
internal sealed class TorchHeadFixture
{
    public static string DirectoryPath => Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch_head");

    /// <summary>The head's shape, from the manifest's "spec".</summary>
    public required RoiHeadSpec Spec { get; init; }

    /// <summary>The manifest's weight names and shapes, in the order the manifest lists them.</summary>
    public required IReadOnlyList<WeightSpec> WeightLayout { get; init; }

    /// <summary>Parameter name -> float32 values (row-major), as torch held them when it exported.</summary>
    public required IReadOnlyDictionary<string, float[]> Weights { get; init; }

    /// <summary>head.onnx: torch.onnx.export's model (opset 17), the same weights as initializers.</summary>
    public required byte[] ModelBytes { get; init; }

    /// <summary>Feature maps, row-major [N, C, H, W].</summary>
    public required float[] Features { get; init; }

    /// <summary>[N, C, H, W].</summary>
    public required int[] FeaturesShape { get; init; }

    /// <summary>RoIs, row-major [R, 5] = (batch index, x1, y1, x2, y2) in image pixels.</summary>
    public required float[] Rois { get; init; }

    /// <summary>R.</summary>
    public required int RoiCount { get; init; }

    /// <summary>torch's eager cls_score on the inputs, row-major [R, K+1].</summary>
    public required float[] ExpectedClsScore { get; init; }

    /// <summary>torch's eager bbox_pred on the inputs, row-major [R, 4(K+1)].</summary>
    public required float[] ExpectedBboxPred { get; init; }

    public required string TorchVersion { get; init; }

    public required string TorchvisionVersion { get; init; }

    public static TorchHeadFixture Load()
    {
        var dir = DirectoryPath;
        var manifestPath = Path.Combine(dir, "manifest.json");
        if (!File.Exists(manifestPath))
        {
            throw new FileNotFoundException(
                $"No torch head fixture at {dir}; regenerate it with /usr/bin/python3 tools/onnx/export_torch_head.py.", manifestPath);
        }

        using var manifest = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
        var root = manifest.RootElement;
        var specJson = root.GetProperty("spec");
        var spec = new RoiHeadSpec(
            specJson.GetProperty("channels").GetInt32(),
            specJson.GetProperty("pooled_height").GetInt32(),
            specJson.GetProperty("pooled_width").GetInt32(),
            specJson.GetProperty("spatial_scale").GetSingle(),
            Ints(specJson.GetProperty("hidden_sizes")),
            specJson.GetProperty("num_classes").GetInt32());

        var files = root.GetProperty("files");
        var digests = root.GetProperty("sha256");
        byte[] Read(string key)
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, files.GetProperty(key).GetString()!));
            var expected = digests.GetProperty(key).GetString();
            var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (actual != expected)
            {
                throw new InvalidDataException(
                    $"Fixture file '{key}' has SHA-256 {actual}; the manifest says {expected}. Regenerate the whole fixture.");
            }

            return bytes;
        }

        var layout = new List<WeightSpec>();
        var weightFloats = Floats(Read("weights"));
        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var next = 0;
        foreach (var entry in root.GetProperty("weights").EnumerateArray())
        {
            var weight = new WeightSpec(entry.GetProperty("name").GetString()!, Ints(entry.GetProperty("shape")));
            var offset = entry.GetProperty("offset").GetInt32();
            if (offset != next || offset + weight.ElementCount > weightFloats.Length)
            {
                throw new InvalidDataException($"Fixture weight {weight} at offset {offset} does not follow the previous one ({next}) inside weights.bin.");
            }

            layout.Add(weight);
            weights.Add(weight.Name, weightFloats.AsSpan(offset, weight.ElementCount).ToArray());
            next = offset + weight.ElementCount;
        }

        if (next != weightFloats.Length)
        {
            throw new InvalidDataException($"weights.bin holds {weightFloats.Length} floats; the manifest's weights cover {next}.");
        }

        var featuresShape = Ints(root.GetProperty("features_shape"));
        var roisShape = Ints(root.GetProperty("rois_shape"));
        var fixture = new TorchHeadFixture
        {
            Spec = spec,
            WeightLayout = layout,
            Weights = weights,
            ModelBytes = Read("model"),
            Features = Floats(Read("features")),
            FeaturesShape = featuresShape,
            Rois = Floats(Read("rois")),
            RoiCount = roisShape[0],
            ExpectedClsScore = Floats(Read("expected_cls_score")),
            ExpectedBboxPred = Floats(Read("expected_bbox_pred")),
            TorchVersion = root.GetProperty("versions").GetProperty("torch").GetString()!,
            TorchvisionVersion = root.GetProperty("versions").GetProperty("torchvision").GetString()!,
        };

        Expect(fixture.Features.Length, featuresShape.Aggregate(1, (a, b) => a * b), "features.bin");
        Expect(roisShape[1], 5, "rois_shape[1]");
        Expect(fixture.Rois.Length, 5 * fixture.RoiCount, "rois.bin");
        Expect(fixture.ExpectedClsScore.Length, fixture.RoiCount * spec.ClsScoreWidth, "expected_cls_score.bin");
        Expect(fixture.ExpectedBboxPred.Length, fixture.RoiCount * spec.BboxPredWidth, "expected_bbox_pred.bin");
        return fixture;
    }

    private static void Expect(int actual, int expected, string what)
    {
        if (actual != expected)
        {
            throw new InvalidDataException($"Fixture {what} has {actual} values; expected {expected}.");
        }
    }

    private static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    private static float[] Floats(byte[] bytes)
    {
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new InvalidDataException($"A float32 fixture file has {bytes.Length} bytes, not a multiple of 4.");
        }

        var values = new float[bytes.Length / sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        }

        return values;
    }
}
