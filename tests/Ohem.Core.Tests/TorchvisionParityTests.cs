using Ohem.Core.Tests.Support;
using Ohem.Testing;
using Ohem.Reference;

namespace Ohem.Core.Tests;

/// <summary>
/// Our NMS against torchvision.ops.nms and per-class NMS (batched_nms's per-class path) on the same
/// inputs: the keep lists must be identical, element for element.
/// </summary>
public class TorchvisionParityTests
{
    [TorchFact]
    public void Nms_and_per_class_nms_match_torchvision_from_10_to_20000_boxes()
    {
        var cases = new List<NmsCase>();
        var seed = 0;
        foreach (var n in new[] { 10, 100, 1000, 5000, 20000 })
        {
            foreach (var threshold in new[] { 0f, 0.3f, 0.5f, 0.7f, 0.9f })
            {
                var (boxes, scores) = SyntheticProposals.Generate(n, seed++);
                AddDuplicatesAndTies(boxes, scores, seed);
                var classes = Enumerable.Range(0, n).Select(i => (i * 7919 + seed) % 5).ToArray();
                cases.Add(new NmsCase(false, boxes, scores, classes, threshold));
                cases.Add(new NmsCase(true, boxes, scores, classes, threshold));
            }
        }

        var answers = TorchReference.Nms(cases);
        for (var c = 0; c < cases.Count; c++)
        {
            var (perClass, boxes, scores, classes, threshold, _) = cases[c];
            var ours = perClass
                ? Nms.SelectPerClass(boxes, scores, classes, threshold)
                : Nms.Select(boxes, scores, threshold);
            Assert.True(answers[c].Kept.Length > 0);
            Assert.True(ours.SequenceEqual(answers[c].Kept),
                $"case {c} ({(perClass ? "per-class" : "nms")}, n={scores.Length}, t={threshold}): " +
                $"we keep {ours.Length}, torchvision {answers[c].Kept.Length}; first difference at " +
                $"{ours.Zip(answers[c].Kept).TakeWhile(x => x.First == x.Second).Count()}");
        }
    }

    /// <summary>Copies some boxes exactly and repeats some scores, so ties and duplicates are tested.</summary>
    private static void AddDuplicatesAndTies(float[] boxes, float[] scores, int seed)
    {
        var rng = new Random(seed);
        var n = scores.Length;
        for (var k = 0; k < n / 10; k++)
        {
            int from = rng.Next(n), to = rng.Next(n);
            Array.Copy(boxes, 4 * from, boxes, 4 * to, 4);
            scores[rng.Next(n)] = scores[rng.Next(n)];
            if (k % 3 == 0)
            {
                scores[to] = scores[from];
            }
        }
    }
}
