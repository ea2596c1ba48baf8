using System.Buffers;

namespace Ohem.Core.Selection;

/// <summary>
/// Importance sampling over RoIs (Katharopoulos &amp; Fleuret 2018): sample <c>budget</c> candidates
/// without replacement with probability proportional to w = loss + smoothing, and return weights
/// that undo the bias, so a trainer's weighted mean loss estimates the mean over all candidates.
/// Candidates with w &lt;= 0 are never sampled (and do not count in N).
/// </summary>
/// <remarks>
/// Sampling uses Efraimidis-Spirakis keys, log(u) / w with u uniform in (0, 1]: the largest
/// <c>budget</c> keys are a weighted sample without replacement, in one pass and one partial sort.
/// Weights are the single-draw importance weights 1 / (N p_i) with p_i = w_i / sum(w) over the N
/// eligible candidates. They are exact for sampling with replacement and an approximation without
/// it (the approximation degrades as budget approaches N, where uniform weights would be exact).
/// </remarks>
public sealed class ImportanceSampler : IHardExampleSelector
{
    private readonly ImportanceOptions _options;
    private readonly Random _random;

    public ImportanceSampler(ImportanceOptions? options = null)
    {
        _options = options ?? new ImportanceOptions();
        _options.Validate();
        _random = new Random(_options.Seed);
    }

    public string Name => SelectionPolicies.Importance;

    public ImportanceOptions Options => _options;

    /// <summary>Indices in sample order (descending key) with their importance weights.</summary>
    public Selection Select(ImageRois rois)
    {
        if (!SelectionBuilder.TryBegin(rois, out var candidates, out var ignored, out var empty))
        {
            return empty;
        }

        var labels = rois.Labels;
        var losses = rois.Losses;

        var rented = ArrayPool<SampleKey>.Shared.Rent(candidates);
        try
        {
            var eligible = 0;
            var sum = 0.0;
            for (var i = 0; i < labels.Length; i++)
            {
                var w = Weight(labels[i], losses[i]);
                if (w > 0.0)
                {
                    var u = 1.0 - _random.NextDouble(); // (0, 1]: log(u) is finite
                    rented[eligible++] = new SampleKey(Math.Log(u) / w, i);
                    sum += w;
                }
            }

            var keys = rented.AsSpan(0, eligible);
            var taken = PartialSort.Smallest(keys, _options.Budget);
            var indices = new int[taken];
            var weights = new float[taken];
            for (var k = 0; k < taken; k++)
            {
                var i = keys[k].Index;
                indices[k] = i;
                // A RoI whose loss (plus smoothing) is near zero gets a weight past float's range;
                // the cap keeps it finite, and weight * loss stays at most the mean weight.
                weights[k] = (float)Math.Min(sum / (eligible * Weight(labels[i], losses[i])), float.MaxValue);
            }

            return SelectionBuilder.Build(indices, weights, labels, candidates, ignored);
        }
        finally
        {
            ArrayPool<SampleKey>.Shared.Return(rented);
        }
    }

    private double Weight(int label, float loss) => label < 0 ? 0.0 : loss + _options.Smoothing;

    /// <summary>Orders by key descending (the sample), then index ascending, so "smallest" = sampled first.</summary>
    private readonly record struct SampleKey(double Key, int Index) : IComparable<SampleKey>
    {
        public int CompareTo(SampleKey other)
        {
            var byKey = other.Key.CompareTo(Key);
            return byKey != 0 ? byKey : Index.CompareTo(other.Index);
        }
    }
}
