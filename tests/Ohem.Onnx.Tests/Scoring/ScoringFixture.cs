using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;

namespace Ohem.Onnx.Tests.Scoring;

/// <summary>Batches and weights for scorer tests over <see cref="Engine.TestModels.Tiny"/>.</summary>
internal static class ScoringFixture
{
    public static readonly RoiHeadSpec Spec = Engine.TestModels.Tiny;

    public static ScoringModel Model() =>
        ScoringModel.Load(RoiHeadExporter.Export(Spec, RoiHeadExporter.RandomWeights(Spec, 0)));

    public static Dictionary<string, float[]> Weights(int seed) =>
        RoiHeadExporter.RandomWeights(Spec, seed).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    /// <summary>Two images of [2, 9, 11] features with <paramref name="perImage"/> RoIs each.</summary>
    public static ScoringBatch Batch(int seed, int perImage = 6)
    {
        var rng = new Random(seed);
        var features = Engine.TestModels.RandomFeatures(2 * Spec.Channels * 9 * 11, seed);
        var images = new ImageRoiSet[2];
        for (var i = 0; i < 2; i++)
        {
            var boxes = new float[4 * perImage];
            var labels = new int[perImage];
            var targets = new float[4 * perImage];
            for (var r = 0; r < perImage; r++)
            {
                float x1 = rng.Next(0, 18), y1 = rng.Next(0, 14);
                boxes[4 * r] = x1; boxes[4 * r + 1] = y1;
                boxes[4 * r + 2] = x1 + rng.Next(0, 8); boxes[4 * r + 3] = y1 + rng.Next(0, 8);
                labels[r] = rng.Next(-1, Spec.NumClasses + 1);
                for (var j = 0; j < 4; j++)
                {
                    targets[4 * r + j] = (float)(rng.NextDouble() * 2 - 1);
                }
            }

            images[i] = new ImageRoiSet(boxes, labels, targets);
        }

        return new ScoringBatch(features, (2, Spec.Channels, 9, 11), images);
    }
}
