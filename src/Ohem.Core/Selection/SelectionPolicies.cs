namespace Ohem.Core.Selection;

/// <summary>
/// Builds a selection policy by name from string options, the way a service config or a request
/// names it (detectron2-style: a policy is a small object chosen by name). Option keys are the
/// camelCase names of the policy's options properties, case-insensitive; values parse in the
/// invariant culture; absent keys keep the defaults of the options type.
/// </summary>
public static class SelectionPolicies
{
    /// <summary>OHEM with NMS over loss (<see cref="OhemSelector"/>).</summary>
    public const string Ohem = "ohem";

    /// <summary>Hardest k without NMS (<see cref="TopKSelector"/>).</summary>
    public const string TopK = "topk";

    /// <summary>Fast R-CNN's fg/bg random sampling baseline (<see cref="FgBgSampler"/>).</summary>
    public const string FgBg = "fgbg";

    /// <summary>Loss-percentile sampling (<see cref="SelectiveBackpropSelector"/>).</summary>
    public const string SelectiveBackprop = "selective-backprop";

    /// <summary>Loss-proportional sampling with importance weights (<see cref="ImportanceSampler"/>).</summary>
    public const string Importance = "importance";

    /// <summary>Every name <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [Ohem, TopK, FgBg, SelectiveBackprop, Importance];

    /// <summary>Creates the policy called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name, unknown option key, unparsable value, or
    /// an option out of range (<see cref="ArgumentOutOfRangeException"/> naming the option).</exception>
    public static IHardExampleSelector Create(string name, IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var canonical = Names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException(
                $"Unknown selection policy '{name}'; known policies: {string.Join(", ", Names)}.", nameof(name));

        var o = new PolicyOptionReader(canonical, options);
        switch (canonical)
        {
            case Ohem:
            {
                var d = new OhemOptions();
                var parsed = new OhemOptions
                {
                    Budget = o.Int("budget", d.Budget),
                    IouThreshold = o.Float("iouThreshold", d.IouThreshold),
                    PerClass = o.Bool("perClass", d.PerClass),
                    Hardness = o.Hardness("hardness", d.Hardness),
                };
                o.RejectUnknown();
                return new OhemSelector(parsed);
            }

            case TopK:
            {
                var d = new TopKOptions();
                var parsed = new TopKOptions
                {
                    Budget = o.Int("budget", d.Budget),
                    PositiveFraction = o.OptionalDouble("positiveFraction", d.PositiveFraction),
                    Hardness = o.Hardness("hardness", d.Hardness),
                };
                o.RejectUnknown();
                return new TopKSelector(parsed);
            }

            case FgBg:
            {
                var d = new FgBgOptions();
                var parsed = new FgBgOptions
                {
                    Budget = o.Int("budget", d.Budget),
                    ForegroundFraction = o.Double("foregroundFraction", d.ForegroundFraction),
                    ForegroundThreshold = o.Float("foregroundThreshold", d.ForegroundThreshold),
                    BackgroundHigh = o.Float("backgroundHigh", d.BackgroundHigh),
                    BackgroundLow = o.Float("backgroundLow", d.BackgroundLow),
                    Seed = o.Int("seed", d.Seed),
                };
                o.RejectUnknown();
                return new FgBgSampler(parsed);
            }

            case SelectiveBackprop:
            {
                var d = new SelectiveBackpropOptions();
                var parsed = new SelectiveBackpropOptions
                {
                    Budget = o.Int("budget", d.Budget),
                    WindowSize = o.Int("windowSize", d.WindowSize),
                    Beta = o.OptionalDouble("beta", d.Beta),
                    KeepFraction = o.OptionalDouble("keepFraction", d.KeepFraction),
                    Seed = o.Int("seed", d.Seed),
                };
                o.RejectUnknown();
                return new SelectiveBackpropSelector(parsed);
            }

            default:
            {
                var d = new ImportanceOptions();
                var parsed = new ImportanceOptions
                {
                    Budget = o.Int("budget", d.Budget),
                    Smoothing = o.Double("smoothing", d.Smoothing),
                    Seed = o.Int("seed", d.Seed),
                };
                o.RejectUnknown();
                return new ImportanceSampler(parsed);
            }
        }
    }
}
