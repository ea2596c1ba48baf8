namespace Ohem.Torch.Tests;

/// <summary>
/// ONNX MaxRoiPool written out from ANCHORS.md for the backward tests, with the argmax: round half
/// away from zero, roi size max(end - start + 1, 1), float bins, floor/ceil edges clipped to the
/// map, empty bin 0 (no argmax), first maximum in row-major order.
/// </summary>
internal static class PoolingReference
{
    /// <summary>The gradient of sum(pool(features) * gradOutput) w.r.t. features: gradOutput scattered to each bin's argmax.</summary>
    public static float[] Scatter(int n, int c, int h, int w, float[] features, float[] rois, int pooledH, int pooledW, float scale, float[] gradOutput)
    {
        var grad = new float[n * c * h * w];
        var r = rois.Length / 5;
        for (var i = 0; i < r; i++)
        {
            var batch = (int)rois[5 * i];
            int Round(float v) => (int)MathF.Round(v * scale, MidpointRounding.AwayFromZero);
            int startW = Round(rois[5 * i + 1]), startH = Round(rois[5 * i + 2]);
            int endW = Round(rois[5 * i + 3]), endH = Round(rois[5 * i + 4]);
            var binH = Math.Max(endH - startH + 1, 1) / (float)pooledH;
            var binW = Math.Max(endW - startW + 1, 1) / (float)pooledW;
            for (var ch = 0; ch < c; ch++)
            {
                var plane = ((batch * c) + ch) * h * w;
                for (var ph = 0; ph < pooledH; ph++)
                {
                    for (var pw = 0; pw < pooledW; pw++)
                    {
                        var hs = Math.Clamp((int)MathF.Floor(ph * binH) + startH, 0, h);
                        var he = Math.Clamp((int)MathF.Ceiling((ph + 1) * binH) + startH, 0, h);
                        var ws = Math.Clamp((int)MathF.Floor(pw * binW) + startW, 0, w);
                        var we = Math.Clamp((int)MathF.Ceiling((pw + 1) * binW) + startW, 0, w);
                        var argmax = -1;
                        for (var y = hs; y < he; y++)
                        {
                            for (var x = ws; x < we; x++)
                            {
                                if (argmax < 0 || features[plane + (y * w) + x] > features[plane + argmax])
                                {
                                    argmax = (y * w) + x;
                                }
                            }
                        }

                        if (argmax >= 0)
                        {
                            grad[plane + argmax] += gradOutput[(((i * c) + ch) * pooledH + ph) * pooledW + pw];
                        }
                    }
                }
            }
        }

        return grad;
    }
}
