using System.Globalization;
using Ohem.Core.Selection;

namespace Ohem.Trainer.Mining;

/// <summary>
/// The policy options a trainer sends: the user's, with the per-image budget B / N and, for the
/// sampling policies, the run's seed filled in where not given (as InProcessMiner fills them, so
/// the miner and the in-process fallback choose alike).
/// </summary>
public static class MiningPolicy
{
    public static IReadOnlyDictionary<string, string> Options(
        string policy, IReadOnlyDictionary<string, string> options, int budgetPerImage, int seed)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetPerImage, 1);
        var merged = new Dictionary<string, string>(options, StringComparer.OrdinalIgnoreCase);
        merged.TryAdd("budget", budgetPerImage.ToString(CultureInfo.InvariantCulture));
        if (policy.Equals(SelectionPolicies.FgBg, StringComparison.OrdinalIgnoreCase)
            || policy.Equals(SelectionPolicies.Importance, StringComparison.OrdinalIgnoreCase)
            || policy.Equals(SelectionPolicies.SelectiveBackprop, StringComparison.OrdinalIgnoreCase))
        {
            merged.TryAdd("seed", seed.ToString(CultureInfo.InvariantCulture));
        }

        return merged;
    }
}
