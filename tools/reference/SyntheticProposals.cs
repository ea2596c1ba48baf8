namespace Ohem.Reference;

/// <summary>
/// Proposal-like boxes as selective search gives them: most jittered around a few objects over a
/// wide range of overlaps, the rest random over the image; scores are random. Deterministic from
/// the seed. Used to test and time NMS on realistic inputs (uniformly random boxes rarely overlap,
/// which flatters any NMS).
/// </summary>
internal static class SyntheticProposals
{
    public static (float[] Boxes, float[] Scores) Generate(
        int count, int seed, float width = 1000f, float height = 600f, int objects = 8, double clusteredFraction = 0.75)
    {
        var rng = new Random(seed);
        var centres = new (float X, float Y, float W, float H)[objects];
        for (var o = 0; o < objects; o++)
        {
            var w = (float)(width * (0.08 + 0.35 * rng.NextDouble()));
            var h = (float)(height * (0.08 + 0.35 * rng.NextDouble()));
            centres[o] = ((float)(w / 2 + rng.NextDouble() * (width - w)), (float)(h / 2 + rng.NextDouble() * (height - h)), w, h);
        }

        var boxes = new float[4 * count];
        var scores = new float[count];
        for (var i = 0; i < count; i++)
        {
            float cx, cy, w, h;
            if (rng.NextDouble() < clusteredFraction)
            {
                var (ox, oy, ow, oh) = centres[rng.Next(objects)];
                var spread = (float)(0.05 + 0.5 * rng.NextDouble()); // near-copies to loose neighbours
                cx = ox + (float)(Gaussian(rng) * spread * ow);
                cy = oy + (float)(Gaussian(rng) * spread * oh);
                w = ow * (float)Math.Exp(Gaussian(rng) * spread);
                h = oh * (float)Math.Exp(Gaussian(rng) * spread);
            }
            else
            {
                w = (float)(width * (0.02 + 0.5 * rng.NextDouble()));
                h = (float)(height * (0.02 + 0.5 * rng.NextDouble()));
                cx = (float)(rng.NextDouble() * width);
                cy = (float)(rng.NextDouble() * height);
            }

            var x1 = Math.Clamp(cx - w / 2, 0f, width);
            var y1 = Math.Clamp(cy - h / 2, 0f, height);
            boxes[4 * i] = x1;
            boxes[4 * i + 1] = y1;
            boxes[4 * i + 2] = Math.Clamp(cx + w / 2, x1, width);
            boxes[4 * i + 3] = Math.Clamp(cy + h / 2, y1, height);
            scores[i] = (float)rng.NextDouble();
        }

        return (boxes, scores);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
