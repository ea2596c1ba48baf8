using Ohem.Core.Selection;
using Ohem.Protocol.V1;

namespace Ohem.Service.Mining;

/// <summary>
/// The selection policies of one Mine stream, one instance per (job, policy, options): sampling
/// policies keep their seeded generator, selective-backprop its loss window, across the stream's
/// batches, as they would in a trainer's own loop. Used by one stream at a time.
/// </summary>
internal sealed class PolicyCache
{
    private readonly Dictionary<string, IHardExampleSelector> _selectors = new(StringComparer.Ordinal);

    /// <exception cref="ArgumentException">Unknown policy or option (the message lists the valid ones).</exception>
    public IHardExampleSelector Get(string jobId, SelectionPolicy? policy)
    {
        if (policy is null || string.IsNullOrEmpty(policy.Name))
        {
            throw new ArgumentException($"policy is missing; expected one of {string.Join(", ", SelectionPolicies.Names)}.", nameof(policy));
        }

        var options = policy.Options.OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
        var key = $"{jobId}\n{policy.Name}\n{string.Join("\n", options.Select(o => $"{o.Key}={o.Value}"))}";
        if (!_selectors.TryGetValue(key, out var selector))
        {
            selector = SelectionPolicies.Create(policy.Name, policy.Options);
            _selectors[key] = selector;
        }

        return selector;
    }
}
