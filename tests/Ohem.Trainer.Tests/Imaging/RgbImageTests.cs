using Ohem.Trainer.Data;
using Ohem.Trainer.Imaging;

namespace Ohem.Trainer.Tests.Imaging;

public sealed class RgbImageTests
{
    [Fact]
    public void A_box_outlines_exactly_its_border_pixels()
    {
        var image = new RgbImage(10, 10);
        image.DrawBox(2, 3, 6, 8, Rgb.Red); // pixels x 2..5, y 3..7
        for (var y = 0; y < 10; y++)
        {
            for (var x = 0; x < 10; x++)
            {
                var onBorder = x is >= 2 and <= 5 && y is >= 3 and <= 7 && (x is 2 or 5 || y is 3 or 7);
                Assert.Equal(onBorder ? Rgb.Red : new Rgb(0, 0, 0), At(image, x, y));
            }
        }
    }

    [Fact]
    public void Opacity_blends_and_scale_enlarges_the_canvas_and_its_boxes()
    {
        var pixels = new float[4 * 4];
        pixels[5] = 1f; // (1, 1) white
        var canvas = new Canvas(4, pixels, [], [], [], []);
        var image = RgbImage.FromCanvas(canvas, scale: 3);
        Assert.Equal((12, 12, 3), (image.Width, image.Height, image.Scale));
        Assert.Equal(Rgb.White, At(image, 3, 3));
        Assert.Equal(Rgb.White, At(image, 5, 5));
        Assert.Equal(new Rgb(0, 0, 0), At(image, 6, 6));

        image.DrawBox(1, 1, 2, 2, new Rgb(0, 0, 255), opacity: 0.5f); // source pixel (1, 1) -> image 3..5
        Assert.Equal(new Rgb(128, 128, 255), At(image, 3, 3)); // half white, half blue
        Assert.Equal(new Rgb(128, 128, 255), At(image, 5, 4));
        Assert.Equal(Rgb.White, At(image, 4, 4)); // the inside stays

        var gallery = new RgbImage(30, 12);
        gallery.Paste(image, 14, 0);
        gallery.Paste(image, 25, 0); // cut off at the right edge
        Assert.Equal(At(image, 3, 3), At(gallery, 17, 3));
        Assert.Equal(At(image, 0, 0), At(gallery, 29, 0));
        Assert.Equal(30 * 12 * 3, gallery.ToPng().Length > 0 ? gallery.Pixels.Length : 0);
    }

    private static Rgb At(RgbImage image, int x, int y)
    {
        var p = 3 * ((y * image.Width) + x);
        return new Rgb(image.Pixels[p], image.Pixels[p + 1], image.Pixels[p + 2]);
    }
}
