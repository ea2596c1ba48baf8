using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Tests.Support;
using Ohem.Testing;

namespace Ohem.Core.Tests;

public class BoxesTests
{
    [Theory]
    [InlineData(0, 0, 10, 10, 5, 0, 15, 10, 50.0 / 150)]     // half-shifted: 50 / 150
    [InlineData(0, 0, 20, 20, 5, 5, 15, 15, 100.0 / 400)]    // nested: inner / outer
    [InlineData(0, 0, 10, 10, 10, 0, 20, 10, 0)]             // touching edge
    [InlineData(0, 0, 10, 10, 20, 20, 30, 30, 0)]            // disjoint
    [InlineData(2, 3, 7, 9, 2, 3, 7, 9, 1)]                  // identical
    [InlineData(0, 0, 4, 2, 1, 1, 3, 5, 2.0 / (8 + 8 - 2))]  // cross: inter 2x1
    public void Iou_known_answers(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2, double expected)
    {
        Assert.Equal(expected, Boxes.Iou([ax1, ay1, ax2, ay2], [bx1, by1, bx2, by2]), 6);
        Assert.Equal(expected, Boxes.Iou([bx1, by1, bx2, by2], [ax1, ay1, ax2, ay2]), 6);
    }

    [Fact]
    public void Zero_area_boxes_have_iou_zero_with_everything_including_themselves()
    {
        Assert.Equal(0f, Boxes.Iou([3, 3, 3, 3], [3, 3, 3, 3]));
        Assert.Equal(0f, Boxes.Iou([3, 0, 3, 10], [0, 0, 10, 10]));
        Assert.Equal(0f, Boxes.Iou([0, 0, 10, 10], [0, 5, 10, 5]));
    }

    [Fact]
    public void Area_has_no_plus_one() => Assert.Equal(50f, Boxes.Area(0, 0, 10, 5));

    [Fact]
    public void One_to_many_matches_pairwise()
    {
        float[] many = [0, 0, 10, 10, 5, 0, 15, 10, 100, 100, 101, 101];
        var iou = new float[3];
        Boxes.IouOneToMany([0, 0, 10, 10], many, iou);
        Assert.Equal([1f, 50f / 150, 0f], iou);
    }

    [Fact]
    public void Max_iou_finds_the_best_ground_truth_and_its_index()
    {
        float[] rois = [0, 0, 10, 10, 18, 18, 30, 30, 100, 100, 110, 110];
        float[] gt = [0, 0, 10, 20, 20, 20, 30, 30];
        var max = new float[3];
        var arg = new int[3];
        Boxes.MaxIou(rois, gt, max, arg);
        Assert.Equal([0.5f, 100f / 144, 0f], max);
        Assert.Equal([0, 1, 0], arg); // no overlap: IoU 0 with the first box
    }

    [Fact]
    public void Max_iou_without_ground_truth_is_zero_and_minus_one()
    {
        var max = new float[1];
        var arg = new int[1];
        Boxes.MaxIou([0, 0, 1, 1], [], max, arg);
        Assert.Equal(0f, max[0]);
        Assert.Equal(-1, arg[0]);
    }

    [Fact]
    public void Iou_is_symmetric_bounded_and_one_only_for_equal_positive_boxes()
    {
        var box = Gen.Four(Gen.Choose(0, 30)).Select(c => new float[]
            { Math.Min(c.Item1, c.Item3), Math.Min(c.Item2, c.Item4), Math.Max(c.Item1, c.Item3), Math.Max(c.Item2, c.Item4) });
        Properties.Check(Prop.ForAll(box.ToArbitrary(), box.ToArbitrary(), (a, b) =>
        {
            var ab = Boxes.Iou(a, b);
            var ba = Boxes.Iou(b, a);
            var positive = Boxes.Area(a[0], a[1], a[2], a[3]) > 0;
            return ab == ba && ab >= 0 && ab <= 1 && (ab == 1) == (positive && a.SequenceEqual(b));
        }), 1000);
    }

    [Fact]
    public void Bad_boxes_are_rejected_with_the_argument_named()
    {
        var e = Assert.Throws<ArgumentException>(() => Boxes.MaxIou([0, 0, 1, 1, 5, 5, 4, 6], [0, 0, 1, 1], new float[2], new int[2]));
        Assert.Equal("rois", e.ParamName);
        Assert.Contains("box 1", e.Message);
        Assert.Equal("iou", Assert.Throws<ArgumentException>(() => Boxes.IouOneToMany([0, 0, 1, 1], [0, 0, 1, 1], new float[2])).ParamName);
        Assert.Equal("b", Assert.Throws<ArgumentException>(() => Boxes.Iou([0, 0, 1, 1], [0, 0, float.NaN, 1])).ParamName);
    }
}
