using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Trainer.Data;
using Ohem.Trainer.Tests.Support;

namespace Ohem.Trainer.Tests.Data;

public sealed class CanvasGeneratorTests
{
    private static FashionMnist Train => FashionMnist.Load("train");

    [NeedsFact(Needs.FashionMnist)]
    public void Same_seed_gives_the_same_canvases_in_any_order_and_on_any_thread()
    {
        var options = new CanvasOptions { HardNegativeRate = 0.5f };
        var first = new CanvasGenerator(Train, options, seed: 5);
        var expected = Enumerable.Range(0, 40).Select(first.Generate).ToArray();

        var second = new CanvasGenerator(Train, options, seed: 5);
        var actual = new Canvas[40];
        Parallel.ForEach(Enumerable.Range(0, 40).Reverse(), i => actual[i] = second.Generate(i));
        for (var i = 0; i < 40; i++)
        {
            AssertSame(expected[i], actual[i]);
            AssertSame(expected[i], first.Generate(i)); // again, after others
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Different_seeds_and_indices_give_different_canvases()
    {
        var a = new CanvasGenerator(Train, new CanvasOptions(), seed: 1);
        var b = new CanvasGenerator(Train, new CanvasOptions(), seed: 2);
        for (var i = 0; i < 10; i++)
        {
            Assert.NotEqual(a.Generate(i).Pixels, b.Generate(i).Pixels);
            Assert.NotEqual(a.Generate(i).Pixels, a.Generate(i + 1).Pixels);
        }
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Canvases_keep_their_invariants_for_any_seed()
    {
        var options = new CanvasOptions { HardNegativeRate = 0.5f };
        Properties.Check(Prop.ForAll(Gen.Choose(-1_000_000_000, 1_000_000_000).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (seed, index) =>
        {
            var canvas = new CanvasGenerator(Train, options, seed).Generate(index);
            CheckInvariants(canvas, options);
        }), maxTest: 150);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Ground_truth_boxes_are_tight_around_the_drawn_item()
    {
        // Black background, no hard negatives: the non-zero pixels are exactly the items.
        var single = new CanvasOptions { BackgroundLevel = 0, GradientAmplitude = 0, NoiseStd = 0, HardNegativeRate = 0, MinObjects = 1, MaxObjects = 1 };
        var several = single with { MaxObjects = 4 };
        Properties.Check(Prop.ForAll(Gen.Choose(-1_000_000_000, 1_000_000_000).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (seed, index) =>
        {
            var canvas = new CanvasGenerator(Train, single, seed).Generate(index);
            Assert.Equal(1, canvas.ObjectCount);
            Assert.Equal(canvas.Boxes, BoundingBoxOfLitPixels(canvas));

            // With several items: every lit pixel is inside some box, and every box edge holds a lit pixel.
            var crowded = new CanvasGenerator(Train, several, seed).Generate(index);
            var s = crowded.Size;
            for (var y = 0; y < s; y++)
            {
                for (var x = 0; x < s; x++)
                {
                    if (crowded.Pixels[y * s + x] > 0f)
                    {
                        Assert.True(Inside(crowded.Boxes, x, y), $"lit pixel ({x}, {y}) is outside every box");
                    }
                }
            }

            for (var j = 0; j < crowded.ObjectCount; j++)
            {
                int x1 = (int)crowded.Boxes[4 * j], y1 = (int)crowded.Boxes[4 * j + 1], x2 = (int)crowded.Boxes[4 * j + 2], y2 = (int)crowded.Boxes[4 * j + 3];
                Assert.True(AnyLit(crowded, x1, x1 + 1, y1, y2), $"box {j}: left column dark");
                Assert.True(AnyLit(crowded, x2 - 1, x2, y1, y2), $"box {j}: right column dark");
                Assert.True(AnyLit(crowded, x1, x2, y1, y1 + 1), $"box {j}: top row dark");
                Assert.True(AnyLit(crowded, x1, x2, y2 - 1, y2), $"box {j}: bottom row dark");
            }
        }), maxTest: 60);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void About_one_canvas_in_five_carries_hard_negatives_of_all_three_kinds()
    {
        var data = SharedData.Train; // default options: HardNegativeRate 0.2
        var withHard = 0;
        var kinds = new int[3];
        for (var i = 0; i < data.Count; i++)
        {
            var canvas = data.Canvas(i);
            withHard += canvas.DistractorCount > 0 ? 1 : 0;
            foreach (var kind in canvas.DistractorKinds)
            {
                kinds[(int)kind]++;
            }
        }

        // 1,000 canvases at rate 0.2: the binomial's standard deviation is 0.013; a few fail to place.
        Assert.InRange(withHard / (double)data.Count, 0.16, 0.23);
        var total = kinds.Sum();
        Assert.All(kinds, k => Assert.InRange(k / (double)total, 0.25, 0.42));

        var none = new CanvasGenerator(Train, new CanvasOptions { HardNegativeRate = 0 }, seed: 3);
        Assert.All(Enumerable.Range(0, 100), i => Assert.Equal(0, none.Generate(i).DistractorCount));
        var always = new CanvasGenerator(Train, new CanvasOptions { HardNegativeRate = 1 }, seed: 3);
        Assert.InRange(Enumerable.Range(0, 100).Count(i => always.Generate(i).DistractorCount > 0), 95, 100);
    }

    [NeedsFact(Needs.FashionMnist)]
    public void Items_are_drawn_only_from_the_source_range()
    {
        var t10k = FashionMnist.Load("t10k");
        Assert.Equal((0, 5000), DetectionDataset.Create(DetectionSplit.Validation, 1, 0).Generator.SourceItems);
        Assert.Equal((5000, 5000), DetectionDataset.Create(DetectionSplit.Test, 1, 0).Generator.SourceItems);
        Assert.Equal((0, 60_000), DetectionDataset.Create(DetectionSplit.Train, 1, 0).Generator.SourceItems);

        // A range of one image: every item is that image's class.
        var one = new CanvasGenerator(t10k, new CanvasOptions { HardNegativeRate = 0 }, seed: 1, 7..8);
        Assert.All(Enumerable.Range(0, 20), i => Assert.All(one.Generate(i).Classes, c => Assert.Equal(t10k.Label(7) + 1, c)));
        Assert.Throws<ArgumentException>(() => new CanvasGenerator(t10k, new CanvasOptions(), 1, 10_000..10_001));
    }

    [Theory]
    [InlineData("MaxObjects")]
    [InlineData("MaxObjectSize")]
    [InlineData("HardNegativeRate")]
    [InlineData("Size")]
    public void Options_out_of_range_are_rejected_by_name(string field)
    {
        var options = field switch
        {
            "MaxObjects" => new CanvasOptions { MinObjects = 3, MaxObjects = 2 },
            "MaxObjectSize" => new CanvasOptions { MaxObjectSize = 200 },
            "HardNegativeRate" => new CanvasOptions { HardNegativeRate = 1.5f },
            _ => new CanvasOptions { Size = 8 },
        };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(field, e.ParamName);
        Assert.Contains("CanvasOptions." + field, e.Message, StringComparison.Ordinal);
    }

    internal static void CheckInvariants(Canvas canvas, CanvasOptions options)
    {
        var s = canvas.Size;
        Assert.Equal(s * s, canvas.Pixels.Length);
        Assert.All(canvas.Pixels, p => Assert.InRange(p, 0f, 1f));
        Assert.InRange(canvas.ObjectCount, options.MinObjects, options.MaxObjects);
        Assert.Equal(4 * canvas.ObjectCount, canvas.Boxes.Length);
        Assert.Equal(4 * canvas.DistractorCount, canvas.Distractors.Length);
        Assert.All(canvas.Classes, c => Assert.InRange(c, 1, 10));
        for (var j = 0; j < canvas.ObjectCount; j++)
        {
            var b = canvas.Boxes.AsSpan(4 * j, 4);
            Assert.True(b[0] >= 0 && b[1] >= 0 && b[2] <= s && b[3] <= s, $"box {j} leaves the canvas");
            Assert.All(b.ToArray(), v => Assert.Equal(MathF.Round(v), v)); // whole pixels
            var longSide = Math.Max(b[2] - b[0], b[3] - b[1]);
            Assert.InRange(longSide, options.MinObjectSize, options.MaxObjectSize);
            Assert.True(Math.Min(b[2] - b[0], b[3] - b[1]) >= 1);
            for (var k = 0; k < j; k++)
            {
                Assert.True(SharedData.Iou(b, canvas.Boxes.AsSpan(4 * k, 4)) < options.MaxOverlapIou, $"boxes {k} and {j} overlap too much");
            }
        }

        for (var d = 0; d < canvas.DistractorCount; d++)
        {
            var b = canvas.Distractors.AsSpan(4 * d, 4);
            Assert.True(b[0] >= 0 && b[1] >= 0 && b[2] <= s && b[3] <= s && b[2] > b[0] && b[3] > b[1], $"distractor {d} leaves the canvas");
            var touches = false;
            for (var j = 0; j < canvas.ObjectCount; j++)
            {
                var o = canvas.Boxes.AsSpan(4 * j, 4);
                Assert.Equal(0.0, SharedData.Iou(b, o)); // never over an object: background by construction
                touches |= Math.Max(Math.Max(o[0] - b[2], b[0] - o[2]), Math.Max(o[1] - b[3], b[1] - o[3])) <= 1f;
            }

            if (canvas.DistractorKinds[d] == HardNegativeKind.NearMiss)
            {
                Assert.True(touches, $"near-miss {d} touches no object");
            }
        }
    }

    private static float[] BoundingBoxOfLitPixels(Canvas canvas)
    {
        int x1 = int.MaxValue, y1 = int.MaxValue, x2 = -1, y2 = -1;
        for (var y = 0; y < canvas.Size; y++)
        {
            for (var x = 0; x < canvas.Size; x++)
            {
                if (canvas.Pixels[y * canvas.Size + x] > 0f)
                {
                    (x1, y1, x2, y2) = (Math.Min(x1, x), Math.Min(y1, y), Math.Max(x2, x + 1), Math.Max(y2, y + 1));
                }
            }
        }

        return [x1, y1, x2, y2];
    }

    private static bool Inside(float[] boxes, int x, int y)
    {
        for (var j = 0; j < boxes.Length; j += 4)
        {
            if (x >= boxes[j] && x < boxes[j + 2] && y >= boxes[j + 1] && y < boxes[j + 3])
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnyLit(Canvas canvas, int x1, int x2, int y1, int y2)
    {
        for (var y = y1; y < y2; y++)
        {
            for (var x = x1; x < x2; x++)
            {
                if (canvas.Pixels[y * canvas.Size + x] > 0f)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static void AssertSame(Canvas expected, Canvas actual)
    {
        Assert.Equal(expected.Pixels, actual.Pixels);
        Assert.Equal(expected.Boxes, actual.Boxes);
        Assert.Equal(expected.Classes, actual.Classes);
        Assert.Equal(expected.Distractors, actual.Distractors);
        Assert.Equal(expected.DistractorKinds, actual.DistractorKinds);
    }
}
