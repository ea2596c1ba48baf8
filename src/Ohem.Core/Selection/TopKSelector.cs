using System.Buffers;

namespace Ohem.Core.Selection;

/// <summary>
/// The hardest <c>budget</c> RoIs by loss, without NMS: the cheap OHEM variant of mmdetection's
/// OHEMSampler, optionally with its separate positive / negative mining. Unlike mmdetection it does
/// not fail when there are fewer candidates than the budget ("k not in range"); it keeps them all.
/// </summary>
public sealed class TopKSelector : IHardExampleSelector
{
    private readonly TopKOptions _options;

    public TopKSelector(TopKOptions? options = null)
    {
        _options = options ?? new TopKOptions();
        _options.Validate();
    }

    public string Name => SelectionPolicies.TopK;

    public TopKOptions Options => _options;

    /// <summary>Indices come back hardest first (loss descending, lower index first on ties).</summary>
    public Selection Select(ImageRois rois)
    {
        if (!SelectionBuilder.TryBegin(rois, out var candidates, out var ignored, out var empty))
        {
            return empty;
        }

        var labels = rois.Labels;
        var losses = rois.Hardness(_options.Hardness);

        var rented = ArrayPool<ulong>.Shared.Rent(candidates);
        try
        {
            var keys = rented.AsSpan(0, candidates);
            int[] indices;
            if (_options.PositiveFraction is not { } fraction)
            {
                var c = 0;
                for (var i = 0; i < labels.Length; i++)
                {
                    if (labels[i] >= 0)
                    {
                        keys[c++] = HardnessKey.Of(losses[i], i);
                    }
                }

                var taken = PartialSort.Smallest(keys, _options.Budget);
                indices = new int[taken];
                for (var k = 0; k < taken; k++)
                {
                    indices[k] = HardnessKey.Index(keys[k]);
                }
            }
            else
            {
                indices = MineSeparately(labels, losses, keys, fraction);
            }

            return SelectionBuilder.Build(indices, null, labels, candidates, ignored);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Positives fill keys from the front, negatives from the back; each side is partially sorted
    /// on its own, then the two hardest-first runs are merged.
    /// </summary>
    private int[] MineSeparately(ReadOnlySpan<int> labels, ReadOnlySpan<float> losses, Span<ulong> keys, double positiveFraction)
    {
        int positives = 0, back = keys.Length;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= 1)
            {
                keys[positives++] = HardnessKey.Of(losses[i], i);
            }
            else if (labels[i] == 0)
            {
                keys[--back] = HardnessKey.Of(losses[i], i);
            }
        }

        var budget = _options.Budget;
        var pos = keys[..positives];
        var neg = keys[back..];
        var expectedPositives = (int)(budget * positiveFraction); // mmdetection: int(num * pos_fraction)
        var takenPos = PartialSort.Smallest(pos, Math.Min(expectedPositives, pos.Length));
        var takenNeg = PartialSort.Smallest(neg, Math.Min(budget - takenPos, neg.Length));

        var indices = new int[takenPos + takenNeg];
        int p = 0, q = 0;
        for (var k = 0; k < indices.Length; k++)
        {
            var fromPos = q >= takenNeg || (p < takenPos && pos[p] < neg[q]);
            indices[k] = HardnessKey.Index(fromPos ? pos[p++] : neg[q++]);
        }

        return indices;
    }
}
