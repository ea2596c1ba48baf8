using System.Globalization;

namespace Ohem.Core.Selection;

/// <summary>
/// Reads one policy's options from string key/value pairs (configuration, a request's map): keys
/// are case-insensitive, values parse in the invariant culture. Every key a binder asks for is
/// recorded, so <see cref="RejectUnknown"/> can name the stray key and list the valid ones.
/// </summary>
internal sealed class PolicyOptionReader
{
    private readonly string _policy;
    private readonly Dictionary<string, string?> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _known = [];

    public PolicyOptionReader(string policy, IReadOnlyDictionary<string, string>? options)
    {
        _policy = policy;
        if (options is null)
        {
            return;
        }

        foreach (var (key, value) in options)
        {
            if (!_values.TryAdd(key, value))
            {
                throw new ArgumentException(
                    $"Option '{key}' of policy '{policy}' is given more than once (keys are case-insensitive).", nameof(options));
            }
        }
    }

    public int Int(string key, int fallback) =>
        Read(key, fallback, "an integer", raw => (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v));

    public float Float(string key, float fallback) =>
        Read(key, fallback, "a number", raw => (float.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v), v));

    public double Double(string key, double fallback) =>
        Read(key, fallback, "a number", raw => (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v), v));

    /// <summary>An optional number: absent keeps <paramref name="fallback"/> (null = off).</summary>
    public double? OptionalDouble(string key, double? fallback) =>
        Read(key, fallback, "a number", raw => (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v), (double?)v));

    public bool Bool(string key, bool fallback) =>
        Read(key, fallback, "true or false", raw => (bool.TryParse(raw, out var v), v));

    public HardnessLoss Hardness(string key, HardnessLoss fallback) =>
        Read(key, fallback, $"one of {string.Join(", ", HardnessLossNames.Names)}", raw => (HardnessLossNames.TryParse(raw, out var v), v));

    /// <summary>Throws for the first given key no binder asked for.</summary>
    public void RejectUnknown()
    {
        foreach (var key in _values.Keys)
        {
            if (!_known.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                throw new ArgumentException(
                    $"Unknown option '{key}' for policy '{_policy}'; valid keys: {string.Join(", ", _known)}.");
            }
        }
    }

    private T Read<T>(string key, T fallback, string expected, Func<string, (bool Ok, T Value)> parse)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out var raw))
        {
            return fallback;
        }

        var (ok, value) = raw is null ? (false, default!) : parse(raw.Trim());
        if (!ok)
        {
            throw new ArgumentException(
                $"Option '{key}' of policy '{_policy}' is '{raw}'; expected {expected} (invariant culture).");
        }

        return value;
    }
}
