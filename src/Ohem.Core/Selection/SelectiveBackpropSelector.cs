using System.Buffers;

namespace Ohem.Core.Selection;

/// <summary>
/// Selective-Backprop (Jiang et al. 2019, arXiv 1910.00762) applied to RoIs: each candidate is kept
/// with probability percentile^beta, where percentile is the rank of its loss among the recent
/// candidate losses. Relative rank, not the raw loss, makes the keep rate independent of the loss
/// scale as training progresses. The instance is stateful (the loss window and the generator).
/// </summary>
/// <remarks>
/// Per image: the image's candidate losses are first pushed into the window (the oldest fall out),
/// then each candidate's percentile is scipy's percentileofscore(window, loss, kind="rank") / 100,
/// as the authors' code computes it: (#less + #less-or-equal + [any equal]) / (2 W), i.e. mid-rank
/// on ties. One sorted copy of the window per image and two binary searches per candidate make
/// this O(W log W + R log W). Beta is <c>beta</c> if set; else 1/f - 1 for f = <c>keepFraction</c>,
/// or f = min(1, budget / candidates) per image, so that the expected keep fraction is f
/// (E[U^beta] = 1/(beta + 1) for a uniform percentile U). Kept indices come back hardest first.
/// </remarks>
public sealed class SelectiveBackpropSelector : IHardExampleSelector
{
    private readonly SelectiveBackpropOptions _options;
    private readonly Random _random;
    private readonly float[] _window;
    private readonly float[] _sorted;
    private int _count;
    private int _next;

    public SelectiveBackpropSelector(SelectiveBackpropOptions? options = null)
    {
        _options = options ?? new SelectiveBackpropOptions();
        _options.Validate();
        _random = new Random(_options.Seed);
        _window = new float[_options.WindowSize];
        _sorted = new float[_options.WindowSize];
    }

    public string Name => SelectionPolicies.SelectiveBackprop;

    public SelectiveBackpropOptions Options => _options;

    /// <summary>Losses currently in the window (at most windowSize).</summary>
    public int WindowCount => _count;

    public Selection Select(ImageRois rois)
    {
        if (!SelectionBuilder.TryBegin(rois, out var candidates, out var ignored, out var empty))
        {
            return empty;
        }

        var labels = rois.Labels;
        var losses = rois.Losses;

        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= 0)
            {
                _window[_next] = losses[i];
                _next = (_next + 1) % _window.Length;
                _count = Math.Min(_count + 1, _window.Length);
            }
        }

        var sorted = _sorted.AsSpan(0, _count);
        _window.AsSpan(0, _count).CopyTo(sorted);
        sorted.Sort();

        var beta = BetaFor(candidates);
        var rented = ArrayPool<ulong>.Shared.Rent(candidates);
        try
        {
            var kept = 0;
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i] < 0)
                {
                    continue;
                }

                var probability = Math.Pow(Percentile(sorted, losses[i]), beta);
                if (_random.NextDouble() < probability)
                {
                    rented[kept++] = HardnessKey.Of(losses[i], i);
                }
            }

            var keys = rented.AsSpan(0, kept);
            keys.Sort();
            var indices = new int[kept];
            for (var k = 0; k < kept; k++)
            {
                indices[k] = HardnessKey.Index(keys[k]);
            }

            return SelectionBuilder.Build(indices, null, labels, candidates, ignored);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    private double BetaFor(int candidates)
    {
        if (_options.Beta is { } beta)
        {
            return beta;
        }

        var fraction = _options.KeepFraction ?? Math.Min(1.0, (double)_options.Budget / candidates);
        return 1.0 / fraction - 1.0;
    }

    /// <summary>scipy.stats.percentileofscore(sorted, value, kind="rank") / 100.</summary>
    internal static double Percentile(ReadOnlySpan<float> sorted, float value)
    {
        var less = Count(sorted, value, orEqual: false);
        var lessOrEqual = Count(sorted, value, orEqual: true);

        return (less + lessOrEqual + (lessOrEqual > less ? 1 : 0)) / (2.0 * sorted.Length);
    }

    /// <summary>Binary search: how many sorted values are &lt; value (or &lt;= value).</summary>
    private static int Count(ReadOnlySpan<float> sorted, float value, bool orEqual)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value || (orEqual && sorted[mid] == value))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
