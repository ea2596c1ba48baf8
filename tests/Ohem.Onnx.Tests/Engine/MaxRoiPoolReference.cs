namespace Ohem.Onnx.Tests.Engine;

/// <summary>
/// ONNX MaxRoiPool as ANCHORS.md states it (Caffe/Fast R-CNN RoI pooling, as ONNX Runtime
/// computes it), written from the description, in float32 like the kernel:
/// start = round(x1 * scale) (half away from zero), end = round(x2 * scale);
/// roi size = max(end - start + 1, 1); bin = roi size / pooled size;
/// bin p covers [floor(p * bin), ceil((p + 1) * bin)) offset by start, clipped to the map;
/// an empty bin gives 0. Output [R, C, pooled_h, pooled_w].
/// </summary>
internal static class MaxRoiPoolReference
{
    public static float[] Pool(float[] features, int n, int c, int h, int w, float[] rois, int pooledH, int pooledW, float scale)
    {
        _ = n;
        var r = rois.Length / 5;
        var output = new float[r * c * pooledH * pooledW];
        for (var i = 0; i < r; i++)
        {
            var batch = (int)rois[5 * i];
            var startW = (int)MathF.Round(rois[5 * i + 1] * scale, MidpointRounding.AwayFromZero);
            var startH = (int)MathF.Round(rois[5 * i + 2] * scale, MidpointRounding.AwayFromZero);
            var endW = (int)MathF.Round(rois[5 * i + 3] * scale, MidpointRounding.AwayFromZero);
            var endH = (int)MathF.Round(rois[5 * i + 4] * scale, MidpointRounding.AwayFromZero);
            var roiW = Math.Max(endW - startW + 1, 1);
            var roiH = Math.Max(endH - startH + 1, 1);
            var binH = roiH / (float)pooledH;
            var binW = roiW / (float)pooledW;
            for (var ch = 0; ch < c; ch++)
            {
                var map = features.AsSpan(((batch * c) + ch) * h * w, h * w);
                for (var ph = 0; ph < pooledH; ph++)
                {
                    var hs = Math.Clamp((int)MathF.Floor(ph * binH) + startH, 0, h);
                    var he = Math.Clamp((int)MathF.Ceiling((ph + 1) * binH) + startH, 0, h);
                    for (var pw = 0; pw < pooledW; pw++)
                    {
                        var ws = Math.Clamp((int)MathF.Floor(pw * binW) + startW, 0, w);
                        var we = Math.Clamp((int)MathF.Ceiling((pw + 1) * binW) + startW, 0, w);
                        var empty = he <= hs || we <= ws;
                        var max = empty ? 0f : float.MinValue;
                        for (var y = hs; y < he; y++)
                        {
                            for (var x = ws; x < we; x++)
                            {
                                max = MathF.Max(max, map[y * w + x]);
                            }
                        }

                        output[((i * c + ch) * pooledH + ph) * pooledW + pw] = max;
                    }
                }
            }
        }

        return output;
    }
}
