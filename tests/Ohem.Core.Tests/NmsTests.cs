namespace Ohem.Core.Tests;

/// <summary>Known answers for NMS, each worked out by hand from torchvision's semantics.</summary>
public class NmsTests
{
    [Fact]
    public void Empty_input_keeps_nothing() =>
        Assert.Empty(Nms.Select([], [], 0.5f));

    [Fact]
    public void Kept_indices_come_in_descending_score_order()
    {
        // Three disjoint boxes: nothing is suppressed, order is by score.
        float[] boxes = [0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21];
        Assert.Equal([1, 2, 0], Nms.Select(boxes, [0.1f, 0.9f, 0.5f], 0.5f));
    }

    [Fact]
    public void Equal_scores_keep_the_lower_index_first()
    {
        float[] disjoint = [0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21];
        Assert.Equal([0, 1, 2], Nms.Select(disjoint, [0.5f, 0.5f, 0.5f], 0.5f));

        // Identical boxes with equal scores: the lower index survives.
        float[] same = [5, 5, 9, 9, 5, 5, 9, 9];
        Assert.Equal([0], Nms.Select(same, [0.3f, 0.3f], 0.5f));
    }

    [Fact]
    public void Identical_boxes_suppress_each_other_below_threshold_one()
    {
        float[] same = [5, 5, 9, 9, 5, 5, 9, 9];
        Assert.Equal([1], Nms.Select(same, [0.2f, 0.8f], 0.99f));
        // IoU of identical boxes is exactly 1, never > 1: threshold 1 suppresses nothing.
        Assert.Equal([1, 0], Nms.Select(same, [0.2f, 0.8f], 1f));
    }

    [Theory]
    [InlineData(0.33f, new[] { 0 })]
    [InlineData(0.34f, new[] { 0, 1 })]
    public void Suppression_is_strictly_above_the_threshold(float threshold, int[] expected)
    {
        // (0,0,10,10) and (5,0,15,10): intersection 50, union 150, IoU 1/3.
        float[] boxes = [0, 0, 10, 10, 5, 0, 15, 10];
        Assert.Equal(expected, Nms.Select(boxes, [0.9f, 0.8f], threshold));
    }

    [Fact]
    public void Nested_boxes_overlap_by_area_ratio()
    {
        // Inner 10x10 inside outer 20x20: IoU = 100 / 400 = 0.25.
        float[] boxes = [0, 0, 20, 20, 5, 5, 15, 15];
        Assert.Equal([1], Nms.Select(boxes, [0.1f, 0.9f], 0.2f));
        Assert.Equal([1, 0], Nms.Select(boxes, [0.1f, 0.9f], 0.3f));
    }

    [Fact]
    public void Zero_area_boxes_are_never_suppressed_and_never_suppress()
    {
        // Two identical zero-area boxes, one zero-width box inside a big box, and the big box.
        float[] boxes = [3, 3, 3, 3, 3, 3, 3, 3, 4, 0, 4, 10, 0, 0, 10, 10];
        Assert.Equal([0, 1, 2, 3], Nms.Select(boxes, [0.9f, 0.8f, 0.7f, 0.6f], 0f));
    }

    [Fact]
    public void Threshold_zero_suppresses_any_overlap_but_not_touching_edges()
    {
        // Box 1 shares only an edge with box 0 (IoU 0); box 2 overlaps box 0 by a sliver.
        float[] boxes = [0, 0, 10, 10, 10, 0, 20, 10, 9.5f, 9.5f, 30, 30];
        Assert.Equal([0, 1], Nms.Select(boxes, [0.9f, 0.8f, 0.7f], 0f));
    }

    [Fact]
    public void A_suppressed_box_does_not_suppress_others()
    {
        // Chain: A overlaps B (IoU 0.6), B overlaps C (0.6), A and C barely overlap (0.2).
        // Greedy keeps A, drops B, and keeps C because only kept boxes suppress.
        float[] boxes = [0, 0, 10, 10, 2.5f, 0, 12.5f, 10, 5, 0, 15, 10];
        var iouAb = NaiveIou(boxes, 0, 1);
        var iouAc = NaiveIou(boxes, 0, 2);
        Assert.True(iouAb > 0.5f && iouAc < 0.5f);
        Assert.Equal([0, 2], Nms.Select(boxes, [0.9f, 0.8f, 0.7f], 0.5f));
    }

    [Fact]
    public void Per_class_nms_never_suppresses_across_classes()
    {
        float[] same = [5, 5, 9, 9, 5, 5, 9, 9, 5, 5, 9, 9];
        Assert.Equal([2, 0], Nms.SelectPerClass(same, [0.5f, 0.4f, 0.6f], [1, 1, 2], 0.5f));
        Assert.Equal([2], Nms.Select(same, [0.5f, 0.4f, 0.6f], 0.5f));
    }

    [Fact]
    public void Negative_scores_and_negative_zero_sort_as_numbers()
    {
        float[] disjoint = [0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21, 30, 30, 31, 31];
        Assert.Equal([2, 1, 3, 0], Nms.Select(disjoint, [-2f, 0f, 1f, -0f], 0.5f));
    }

    [Fact]
    public void Bad_input_names_the_argument_and_the_first_bad_index()
    {
        float[] boxes = [0, 0, 1, 1, 0, 0, 2, 2];
        Assert.Contains("scores", Assert.Throws<ArgumentException>(() => Nms.Select(boxes, [1f], 0.5f)).Message);
        Assert.Contains("4 per box", Assert.Throws<ArgumentException>(() => Nms.Select([0, 0, 1], [1f], 0.5f)).Message);

        var nan = Assert.Throws<ArgumentException>(() => Nms.Select([0, 0, 1, 1, 0, float.NaN, 2, 2], [1f, 1f], 0.5f));
        Assert.Equal("boxesXyxy", nan.ParamName);
        Assert.Contains("[5]", nan.Message);

        var flipped = Assert.Throws<ArgumentException>(() => Nms.Select([0, 0, 1, 1, 3, 0, 2, 2], [1f, 1f], 0.5f));
        Assert.Contains("box 1", flipped.Message);
        Assert.Contains("x2 >= x1", flipped.Message);

        var score = Assert.Throws<ArgumentException>(() => Nms.Select(boxes, [1f, float.PositiveInfinity], 0.5f));
        Assert.Equal("scores", score.ParamName);
        Assert.Contains("scores[1]", score.Message);

        foreach (var t in new[] { -0.1f, 1.1f, float.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Nms.Select(boxes, [1f, 1f], t));
            Assert.Equal("iouThreshold", e.ParamName);
        }

        var classes = Assert.Throws<ArgumentException>(() => Nms.SelectPerClass(boxes, [1f, 1f], [0], 0.5f));
        Assert.Equal("classes", classes.ParamName);
    }

    private static float NaiveIou(float[] b, int i, int j) => Support.NaiveNms.Iou(b, i, j);
}
