using System.Buffers;

namespace Ohem.Core.Selection;

/// <summary>
/// Online Hard Example Mining as in the paper: NMS over the RoIs with the loss as the score removes
/// near-duplicates (so one hard region is not picked many times), then the <c>budget</c> hardest
/// survivors are kept. There is no fg:bg ratio and no bg_lo: a neglected class shows up through its
/// growing loss. Ignored RoIs (label -1) are removed before NMS, so they cannot suppress anything.
/// </summary>
public sealed class OhemSelector : IHardExampleSelector
{
    private readonly OhemOptions _options;

    public OhemSelector(OhemOptions? options = null)
    {
        _options = options ?? new OhemOptions();
        _options.Validate();
    }

    public string Name => SelectionPolicies.Ohem;

    public OhemOptions Options => _options;

    /// <summary>Indices come back hardest first (loss descending, lower index first on ties).</summary>
    public Selection Select(ImageRois rois)
    {
        if (!SelectionBuilder.TryBegin(rois, out var candidates, out var ignored, out var empty))
        {
            return empty;
        }

        var labels = rois.Labels;

        int[] survivors;
        if (ignored == 0)
        {
            survivors = RunNms(rois.Boxes, rois.Hardness(_options.Hardness), labels);
        }
        else
        {
            survivors = NmsOverCandidates(rois, candidates);
        }

        var take = Math.Min(_options.Budget, survivors.Length);
        var indices = take == survivors.Length ? survivors : survivors[..take];
        return SelectionBuilder.Build(indices, null, labels, candidates, ignored, candidates - survivors.Length);
    }

    /// <summary>
    /// Gathers the candidates (label &gt;= 0) into rented buffers, runs NMS there and maps the
    /// survivors back to RoI indices. The map is increasing, so NMS's tie order (lower index first)
    /// is preserved.
    /// </summary>
    private int[] NmsOverCandidates(ImageRois rois, int candidates)
    {
        var boxes = ArrayPool<float>.Shared.Rent(4 * candidates);
        var losses = ArrayPool<float>.Shared.Rent(candidates);
        var classes = ArrayPool<int>.Shared.Rent(candidates);
        var map = ArrayPool<int>.Shared.Rent(candidates);
        try
        {
            var labels = rois.Labels;
            var hardness = rois.Hardness(_options.Hardness);
            var c = 0;
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i] < 0)
                {
                    continue;
                }

                rois.Boxes.Slice(4 * i, 4).CopyTo(boxes.AsSpan(4 * c, 4));
                losses[c] = hardness[i];
                classes[c] = labels[i];
                map[c] = i;
                c++;
            }

            var survivors = RunNms(boxes.AsSpan(0, 4 * c), losses.AsSpan(0, c), classes.AsSpan(0, c));
            for (var k = 0; k < survivors.Length; k++)
            {
                survivors[k] = map[survivors[k]];
            }

            return survivors;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(boxes);
            ArrayPool<float>.Shared.Return(losses);
            ArrayPool<int>.Shared.Return(classes);
            ArrayPool<int>.Shared.Return(map);
        }
    }

    private int[] RunNms(ReadOnlySpan<float> boxes, ReadOnlySpan<float> losses, ReadOnlySpan<int> labels) =>
        _options.PerClass
            ? Nms.SelectPerClass(boxes, losses, labels, _options.IouThreshold)
            : Nms.Select(boxes, losses, _options.IouThreshold);
}
