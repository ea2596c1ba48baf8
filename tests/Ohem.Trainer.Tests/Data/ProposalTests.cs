using FsCheck;
using FsCheck.Fluent;
using Ohem.Core;
using Ohem.Testing;
using Ohem.Trainer.Data;
using Ohem.Trainer.Tests.Support;

namespace Ohem.Trainer.Tests.Data;

public sealed class ProposalTests
{
    [NeedsFact(Needs.FashionMnist)]
    public void Same_seed_gives_the_same_proposals_and_different_seeds_differ()
    {
        var canvas = SharedData.Train.Canvas(3);
        var a = Proposals.Generate(canvas, new ProposalOptions(), seed: 9);
        var b = Proposals.Generate(canvas, new ProposalOptions(), seed: 9);
        var c = Proposals.Generate(canvas, new ProposalOptions(), seed: 10);
        Assert.Equal(a.Boxes, b.Boxes);
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(a.Targets, b.Targets);
        Assert.Equal(a.MaxOverlaps, b.MaxOverlaps);
        Assert.NotEqual(a.Boxes, c.Boxes);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Labels_overlaps_and_targets_agree_with_an_independent_computation_for_any_seed()
    {
        var generator = new CanvasGenerator(FashionMnist.Load("train"), new CanvasOptions { HardNegativeRate = 0.5f }, seed: 4);
        var options = new ProposalOptions { Count = 600 };
        Properties.Check(Prop.ForAll(Gen.Choose(0, 1_000_000).ToArbitrary(), Gen.Choose(-1_000_000_000, 1_000_000_000).ToArbitrary(), (index, seed) =>
        {
            var canvas = generator.Generate(index);
            CheckProposals(canvas, Proposals.Generate(canvas, options, seed), options);
        }), maxTest: 60);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Jittered_boxes_cover_every_overlap_from_a_tenth_to_one()
    {
        var data = SharedData.Train;
        var bins = new int[20];
        var jittered = 0;
        for (var i = 0; i < 20; i++)
        {
            var set = data.Proposals(i);
            for (var k = 0; k < set.Count; k++)
            {
                if (set.Sources[k] == ProposalSource.AroundObject)
                {
                    jittered++;
                    bins[Math.Min(19, (int)(set.MaxOverlaps[k] * 20))]++;
                }
            }
        }

        // Every 0.05-wide band from 0.1 to 1 holds at least 1% of the jittered boxes:
        // foreground at every IoU >= 0.5 and many near-misses just below it.
        for (var b = 2; b < 20; b++)
        {
            Assert.True(bins[b] >= 0.01 * jittered, $"IoU band [{b / 20.0}, {(b + 1) / 20.0}) holds {bins[b]} of {jittered}");
        }

        // A wide spread, not only near copies: a fifth or more of them is background.
        Assert.InRange(bins.Take(10).Sum() / (double)jittered, 0.2, 0.8);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Foreground_is_between_a_tenth_and_a_quarter_of_the_proposals()
    {
        var data = SharedData.Train;
        long fg = 0, all = 0;
        for (var i = 0; i < 200; i++)
        {
            var set = data.Proposals(i);
            var canvasFg = 0;
            for (var k = set.GroundTruthCount; k < set.Count; k++)
            {
                canvasFg += set.Labels[k] >= 1 ? 1 : 0;
            }

            var proposals = set.Count - set.GroundTruthCount;
            Assert.Equal(2000, proposals);
            Assert.InRange(canvasFg / (double)proposals, 0.05, 0.40);
            fg += canvasFg;
            all += proposals;
        }

        Assert.InRange(fg / (double)all, 0.15, 0.25); // measured: 0.20
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Hard_negatives_get_proposals_around_them_that_are_background()
    {
        var data = SharedData.Train;
        var around = 0;
        var aroundBackground = 0;
        for (var i = 0; i < 200; i++)
        {
            var canvas = data.Canvas(i);
            var set = data.Proposals(i);
            for (var k = 0; k < set.Count; k++)
            {
                if (set.Sources[k] != ProposalSource.AroundDistractor)
                {
                    continue;
                }

                Assert.True(canvas.DistractorCount > 0);
                for (var d = 0; d < canvas.DistractorCount; d++)
                {
                    if (SharedData.Iou(set.Boxes.AsSpan(4 * k, 4), canvas.Distractors.AsSpan(4 * d, 4)) >= 0.5)
                    {
                        around++;
                        aroundBackground += set.Labels[k] == 0 ? 1 : 0;
                        break;
                    }
                }
            }
        }

        Assert.True(around > 1000, $"{around} proposals overlap a hard negative with IoU >= 0.5");
        Assert.True(aroundBackground > 0.9 * around, $"{aroundBackground} of {around} are background");
    }

    [Fact]
    public void Proposals_of_a_hand_made_canvas_are_labelled_as_computed_by_hand()
    {
        // Two objects; the proposal options make only random boxes, so label them against the truth by hand.
        var canvas = new Canvas(100, new float[100 * 100], [10, 10, 50, 50, 60, 60, 90, 80], [3, 7], [], []);
        var set = Proposals.Generate(canvas, new ProposalOptions { Count = 500, ObjectFraction = 0.5f }, seed: 1);
        Assert.Equal(2, set.GroundTruthCount);
        Assert.Equal(502, set.Count);
        Assert.Equal([3, 7], set.Labels.AsSpan(0, 2).ToArray());
        Assert.Equal([1f, 1f], set.MaxOverlaps.AsSpan(0, 2).ToArray());
        Assert.All(set.Targets.AsSpan(0, 8).ToArray(), t => Assert.Equal(0f, t));
        Assert.Equal(250, set.Sources.Count(s => s == ProposalSource.AroundObject));
        Assert.Equal(0, set.Sources.Count(s => s == ProposalSource.AroundDistractor)); // no distractors: random instead
        CheckProposals(canvas, set, new ProposalOptions { Count = 500 });

        var without = Proposals.Generate(canvas, new ProposalOptions { Count = 10, IncludeGroundTruth = false }, seed: 1);
        Assert.Equal(0, without.GroundTruthCount);
        Assert.Equal(10, without.Count);
        Assert.Equal(without.Boxes, without.ProposalBoxes.ToArray());
    }

    [Theory]
    [InlineData("FgThreshold")]
    [InlineData("DistractorFraction")]
    [InlineData("MaxJitter")]
    public void Options_out_of_range_are_rejected_by_name(string field)
    {
        var options = field switch
        {
            "FgThreshold" => new ProposalOptions { FgThreshold = 0 },
            "DistractorFraction" => new ProposalOptions { ObjectFraction = 0.8f, DistractorFraction = 0.3f },
            _ => new ProposalOptions { MinJitter = 0.5f, MaxJitter = 0.1f },
        };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(field, e.ParamName);
    }

    /// <summary>Checks a proposal set against the canvas with plain-double IoU and Ohem.Core recomputed.</summary>
    internal static void CheckProposals(Canvas canvas, ProposalSet set, ProposalOptions options)
    {
        var r = set.Count;
        var g = canvas.ObjectCount;
        Assert.Equal(4 * r, set.Boxes.Length);
        Assert.Equal(4 * r, set.Targets.Length);
        Assert.Equal(r, set.MaxOverlaps.Length);
        Assert.Equal(r, set.Sources.Length);
        Assert.Equal(canvas.Boxes.AsSpan(0, 4 * set.GroundTruthCount).ToArray(), set.Boxes.AsSpan(0, 4 * set.GroundTruthCount).ToArray());

        var coreIou = new float[r];
        var coreArg = new int[r];
        Boxes.MaxIou(set.Boxes, canvas.Boxes, coreIou, coreArg);
        Assert.Equal(coreIou, set.MaxOverlaps);

        var decoded = new float[4 * r];
        BoxTargets.Decode(set.Boxes, set.Targets, decoded);
        for (var i = 0; i < r; i++)
        {
            var box = set.Boxes.AsSpan(4 * i, 4);
            Assert.True(box[0] >= 0 && box[1] >= 0 && box[2] <= canvas.Size && box[3] <= canvas.Size, $"RoI {i} leaves the canvas");
            Assert.True(box[2] - box[0] >= 1f && box[3] - box[1] >= 1f, $"RoI {i} is thinner than a pixel");

            var best = 0.0;
            var bestIndex = -1;
            for (var j = 0; j < g; j++)
            {
                var iou = SharedData.Iou(box, canvas.Boxes.AsSpan(4 * j, 4));
                if (iou > best)
                {
                    (best, bestIndex) = (iou, j);
                }
            }

            Assert.True(Math.Abs(best - set.MaxOverlaps[i]) < 1e-5, $"RoI {i}: max IoU {set.MaxOverlaps[i]}, independently {best}");
            if (Math.Abs(best - options.FgThreshold) < 1e-5)
            {
                continue; // on the threshold to float rounding: either label is right
            }

            if (best >= options.FgThreshold)
            {
                Assert.Equal(canvas.Classes[bestIndex], set.Labels[i]);
                var gt = canvas.Boxes.AsSpan(4 * bestIndex, 4);
                for (var q = 0; q < 4; q++)
                {
                    Assert.True(Math.Abs(decoded[4 * i + q] - gt[q]) < 1e-3, $"RoI {i}: target decodes to {decoded[4 * i + q]}, ground truth {gt[q]}");
                }
            }
            else
            {
                Assert.Equal(0, set.Labels[i]);
                Assert.All(set.Targets.AsSpan(4 * i, 4).ToArray(), t => Assert.Equal(0f, t));
            }
        }
    }
}
