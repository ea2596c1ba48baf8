using System.Buffers;

namespace Ohem.Core.Selection;

/// <summary>
/// Fast R-CNN's heuristic baseline, the thing OHEM replaces: sample foreground RoIs (max IoU &gt;=
/// foregroundThreshold) up to foregroundFraction of the budget, fill the rest with background RoIs
/// whose max IoU is in [backgroundLow, backgroundHigh), uniformly without replacement. Losses are
/// validated but not read. Labels are authoritative: only label &gt;= 1 can be foreground and only
/// label 0 background, whatever the overlap says.
/// </summary>
/// <remarks>
/// The foreground quota is round(budget * foregroundFraction) with round-half-to-even, as numpy's
/// np.round in py-faster-rcnn (16 of 64). Needs <see cref="ImageRois.MaxOverlaps"/>.
/// </remarks>
public sealed class FgBgSampler : IHardExampleSelector
{
    private readonly FgBgOptions _options;
    private readonly Random _random;

    public FgBgSampler(FgBgOptions? options = null)
    {
        _options = options ?? new FgBgOptions();
        _options.Validate();
        _random = new Random(_options.Seed);
    }

    public string Name => SelectionPolicies.FgBg;

    public FgBgOptions Options => _options;

    /// <summary>Foreground samples first, then background, each in sample order.</summary>
    public Selection Select(ImageRois rois)
    {
        if (!SelectionBuilder.TryBegin(rois, out var candidates, out var ignored, out var empty, requireMaxOverlaps: true))
        {
            return empty;
        }

        var labels = rois.Labels;
        var overlaps = rois.MaxOverlaps;
        var r = labels.Length;

        var fg = ArrayPool<int>.Shared.Rent(r);
        var bg = ArrayPool<int>.Shared.Rent(r);
        try
        {
            int fgCount = 0, bgCount = 0;
            for (var i = 0; i < r; i++)
            {
                var label = labels[i];
                var overlap = overlaps[i];
                if (label >= 1 && overlap >= _options.ForegroundThreshold)
                {
                    fg[fgCount++] = i;
                }
                else if (label == 0 && overlap >= _options.BackgroundLow && overlap < _options.BackgroundHigh)
                {
                    bg[bgCount++] = i;
                }
            }

            var budget = _options.Budget;
            var fgTake = Math.Min((int)Math.Round(budget * _options.ForegroundFraction, MidpointRounding.ToEven), fgCount);
            var bgTake = Math.Min(budget - fgTake, bgCount);
            SampleInPlace(fg.AsSpan(0, fgCount), fgTake);
            SampleInPlace(bg.AsSpan(0, bgCount), bgTake);

            var indices = new int[fgTake + bgTake];
            fg.AsSpan(0, fgTake).CopyTo(indices);
            bg.AsSpan(0, bgTake).CopyTo(indices.AsSpan(fgTake));
            return SelectionBuilder.Build(indices, null, labels, candidates, ignored);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(fg);
            ArrayPool<int>.Shared.Return(bg);
        }
    }

    /// <summary>Partial Fisher-Yates: afterwards pool[..take] is a uniform sample without replacement.</summary>
    private void SampleInPlace(Span<int> pool, int take)
    {
        for (var i = 0; i < take; i++)
        {
            var j = _random.Next(i, pool.Length);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
    }
}
