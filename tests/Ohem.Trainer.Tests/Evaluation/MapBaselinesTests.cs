using System.Globalization;
using Ohem.Trainer.Evaluation;
using Ohem.Trainer.Tests.Support;
using Xunit.Abstractions;

namespace Ohem.Trainer.Tests.Evaluation;

public sealed class MapBaselinesTests(ITestOutputHelper output)
{
    [NeedsFact(Needs.FashionMnist)]
    public void Random_scores_are_near_zero_map_and_true_labels_reach_the_ceiling()
    {
        var data = SharedData.Validation; // 200 canvases, seed 11
        var chance = MapBaselines.Chance(data, data.Count, seed: 1);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"chance mAP over {data.Count} validation canvases: {chance.MeanAp:F4} (per class {string.Join(", ", chance.ApPerClass.Select(a => a.ToString("F3", CultureInfo.InvariantCulture)))})"));
        Assert.InRange(chance.MeanAp, 0.0f, 0.05f); // measured: 0.011
        Assert.Equal(10, chance.ApPerClass.Count);
        Assert.All(chance.ApPerClass, ap => Assert.InRange(ap, 0f, 0.1f));

        // The pipeline can reach 1: logits from the proposals' own labels, ranked by overlap.
        var ceiling = MapBaselines.ProposalCeiling(data, 40);
        Assert.InRange(ceiling.MeanAp, 0.99f, 1f);
    }
}
