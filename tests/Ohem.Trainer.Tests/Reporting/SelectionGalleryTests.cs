using Ohem.Trainer.Data;
using Ohem.Trainer.Reporting;
using SkiaSharp;

namespace Ohem.Trainer.Tests.Reporting;

public sealed class SelectionGalleryTests
{
    private static readonly SKColor Green = new(40, 220, 40), Red = new(255, 40, 40), Blue = new(60, 120, 255);

    /// <summary>A 12x12 black canvas with one white pixel at (4, 5) and one object at (1, 2, 9, 10).</summary>
    private static Canvas Canvas()
    {
        var pixels = new float[12 * 12];
        pixels[(5 * 12) + 4] = 1f;
        return new Canvas(12, pixels, [1, 2, 9, 10], [1], [], []);
    }

    private static Canvas Empty() => Canvas() with { Boxes = [], Classes = [] };

    [Fact]
    public void The_canvas_is_enlarged_pixel_for_pixel()
    {
        using var tile = SelectionGallery.SelectionTile(Empty(), new CanvasSelection(0, [], [], [], 0f, 0, 0), scale: 3);
        Assert.Equal((36, 36), (tile.Width, tile.Height));
        Assert.Equal(SKColors.White, tile.GetPixel(12, 15));
        Assert.Equal(SKColors.White, tile.GetPixel(14, 17));
        Assert.Equal(SKColors.Black, tile.GetPixel(15, 17));
        Assert.Equal(SKColors.Black, tile.GetPixel(12, 14));
    }

    [Fact]
    public void Ground_truth_outlines_exactly_its_border_pixels_two_wide()
    {
        using var tile = SelectionGallery.GroundTruthTile(Canvas(), scale: 1); // pixels x 1..8, y 2..9
        for (var y = 0; y < 12; y++)
        {
            for (var x = 0; x < 12; x++)
            {
                var inside = x is >= 1 and <= 8 && y is >= 2 and <= 9;
                var border = inside && (x is 1 or 2 or 7 or 8 || y is 2 or 3 or 8 or 9);
                var expected = border ? Green : x == 4 && y == 5 ? SKColors.White : SKColors.Black;
                Assert.True(tile.GetPixel(x, y) == expected, $"({x}, {y}) is {tile.GetPixel(x, y)}; expected {expected}");
            }
        }
    }

    [Fact]
    public void The_hardest_selected_box_is_solid_and_the_easiest_faint()
    {
        // Hardest first: a background box with pixels 1..4, then a foreground one with pixels 6..9.
        var selection = new CanvasSelection(0, [1, 1, 5, 5, 6, 6, 10, 10], [0, 1], [2f, 1f], 1f, 10, 0);
        using var tile = SelectionGallery.SelectionTile(Empty(), selection, scale: 1);
        Assert.Equal(Red, tile.GetPixel(1, 1)); // rank 0 of 2: opacity 1
        Assert.Equal(Red, tile.GetPixel(4, 3));
        Assert.Equal(SKColors.Black, tile.GetPixel(2, 2)); // the inside stays
        var faint = tile.GetPixel(6, 9); // rank 1 of 2: opacity 0.6 over black
        Assert.InRange(faint.Blue, (int)(0.6 * Blue.Blue) - 2, (int)(0.6 * Blue.Blue) + 2);
        Assert.InRange(faint.Green, (int)(0.6 * Blue.Green) - 2, (int)(0.6 * Blue.Green) + 2);
        Assert.Equal(SKColors.Black, tile.GetPixel(7, 7));
    }

    [Fact]
    public void Tiles_are_composed_on_white_with_gaps_and_mismatched_rows_are_rejected()
    {
        using var a = SelectionGallery.GroundTruthTile(Canvas(), 2);
        using var b = SelectionGallery.GroundTruthTile(Canvas(), 2);
        using var gallery = SelectionGallery.Compose([[a, b], [b, a]]);
        var gap = SelectionGallery.Gap;
        Assert.Equal(((2 * 24) + (3 * gap), (2 * 24) + (3 * gap)), (gallery.Width, gallery.Height));
        Assert.Equal(SKColors.White, gallery.GetPixel(0, 0));
        Assert.Equal(SKColors.White, gallery.GetPixel(gap + 24, gap + 5)); // between the columns
        Assert.Equal(a.GetPixel(2, 4), gallery.GetPixel(gap + 2, gap + 4));
        Assert.Equal(a.GetPixel(9, 11), gallery.GetPixel(gap + 24 + gap + 9, gap + 24 + gap + 11));

        using var small = SelectionGallery.GroundTruthTile(Canvas(), 1);
        Assert.Contains("rows[1]", Assert.Throws<ArgumentException>(() => SelectionGallery.Compose([[a, b], [a, small]])).Message);
        Assert.Throws<ArgumentException>(() => SelectionGallery.Compose([]));
    }

    [Fact]
    public void The_png_decodes_to_the_same_pixels()
    {
        using var tile = SelectionGallery.GroundTruthTile(Canvas(), 3);
        var path = Path.Combine(Path.GetTempPath(), $"ohem-gallery-{Guid.NewGuid():N}.png");
        try
        {
            SelectionGallery.SavePng(tile, path);
            using var decoded = SKBitmap.Decode(path);
            Assert.Equal((tile.Width, tile.Height), (decoded.Width, decoded.Height));
            for (var y = 0; y < tile.Height; y++)
            {
                for (var x = 0; x < tile.Width; x++)
                {
                    Assert.Equal(tile.GetPixel(x, y), decoded.GetPixel(x, y));
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
