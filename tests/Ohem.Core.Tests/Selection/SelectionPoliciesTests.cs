using System.Globalization;
using System.Reflection;
using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;
using Ohem.Testing;

namespace Ohem.Core.Tests.Selection;

public class SelectionPoliciesTests
{
    public static TheoryData<string, Type> Policies => new()
    {
        { "ohem", typeof(OhemSelector) },
        { "topk", typeof(TopKSelector) },
        { "fgbg", typeof(FgBgSampler) },
        { "selective-backprop", typeof(SelectiveBackpropSelector) },
        { "importance", typeof(ImportanceSampler) },
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Creates_each_policy_by_name(string name, Type type)
    {
        var policy = SelectionPolicies.Create(name);
        Assert.IsType(type, policy);
        Assert.Equal(name, policy.Name);
        Assert.Contains(name, SelectionPolicies.Names);
    }

    [Fact]
    public void Names_are_exactly_the_five_policies()
    {
        Assert.Equal(["ohem", "topk", "fgbg", "selective-backprop", "importance"], SelectionPolicies.Names);
    }

    [Fact]
    public void Parses_options_case_insensitively_in_the_invariant_culture()
    {
        var policy = (OhemSelector)SelectionPolicies.Create("OHEM", new Dictionary<string, string>
        {
            ["BUDGET"] = "12",
            ["iouthreshold"] = "0.55",
            ["perClass"] = "True",
        });

        Assert.Equal(new OhemOptions { Budget = 12, IouThreshold = 0.55f, PerClass = true }, policy.Options);
    }

    [Fact]
    public void Absent_keys_keep_the_documented_defaults()
    {
        Assert.Equal(new OhemOptions { Budget = 64, IouThreshold = 0.7f, PerClass = false }, ((OhemSelector)SelectionPolicies.Create("ohem")).Options);
        var fgbg = ((FgBgSampler)SelectionPolicies.Create("fgbg")).Options;
        Assert.Equal((64, 0.25, 0.5f, 0.5f, 0.1f, 0), (fgbg.Budget, fgbg.ForegroundFraction, fgbg.ForegroundThreshold, fgbg.BackgroundHigh, fgbg.BackgroundLow, fgbg.Seed));
        Assert.Null(((TopKSelector)SelectionPolicies.Create("topk")).Options.PositiveFraction);
        Assert.Equal(4096, ((SelectiveBackpropSelector)SelectionPolicies.Create("selective-backprop")).Options.WindowSize);
    }

    /// <summary>Every options property is settable through its camelCase key, and the value arrives.</summary>
    [Theory]
    [MemberData(nameof(Policies))]
    public void Every_option_property_has_a_camelCase_key(string name, Type type)
    {
        var optionsType = type.GetProperty("Options")!.PropertyType;
        foreach (var property in optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "EqualityContract"))
        {
            var key = char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
            var valueType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var (raw, expected) = valueType == typeof(int) ? ("3", (object)3)
                : valueType == typeof(float) ? ("0.25", 0.25f)
                : valueType == typeof(double) ? ("0.25", 0.25)
                : valueType == typeof(bool) ? ("true", (object)true)
                : valueType == typeof(HardnessLoss) ? ("box", (object)HardnessLoss.Box)
                : throw new InvalidOperationException($"no sample value for {valueType}");

            var policy = SelectionPolicies.Create(name, new Dictionary<string, string> { [key] = raw });
            var options = type.GetProperty("Options")!.GetValue(policy)!;
            Assert.Equal(expected, property.GetValue(options));
        }
    }

    [Fact]
    public void Unknown_policy_names_the_name_and_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => SelectionPolicies.Create("hardest"));
        Assert.Contains("'hardest'", e.Message, StringComparison.Ordinal);
        Assert.All(SelectionPolicies.Names, n => Assert.Contains(n, e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_key_names_the_key_and_the_valid_keys()
    {
        var e = Assert.Throws<ArgumentException>(() => SelectionPolicies.Create("ohem", new Dictionary<string, string> { ["budgett"] = "3" }));
        Assert.Contains("'budgett'", e.Message, StringComparison.Ordinal);
        foreach (var valid in new[] { "budget", "iouThreshold", "perClass" })
        {
            Assert.Contains(valid, e.Message, StringComparison.Ordinal);
        }

        // A key valid for another policy is still unknown here.
        var seed = Assert.Throws<ArgumentException>(() => SelectionPolicies.Create("topk", new Dictionary<string, string> { ["seed"] = "1" }));
        Assert.Contains("'seed'", seed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ohem", "budget", "abc", "integer")]
    [InlineData("ohem", "iouThreshold", "0,5", "number")]
    [InlineData("ohem", "perClass", "yes", "true or false")]
    [InlineData("topk", "positiveFraction", "quarter", "number")]
    [InlineData("ohem", "hardness", "loc", "cls+box, cls, box")]
    [InlineData("importance", "seed", "1.5", "integer")]
    public void Unparsable_value_names_the_key_and_the_expected_type(string policy, string key, string value, string expectedType)
    {
        var e = Assert.Throws<ArgumentException>(() => SelectionPolicies.Create(policy, new Dictionary<string, string> { [key] = value }));
        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(expectedType, e.Message, StringComparison.Ordinal);
        Assert.Contains(value, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void Budget_zero_is_out_of_range_and_named(string name, Type type)
    {
        _ = type;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SelectionPolicies.Create(name, new Dictionary<string, string> { ["budget"] = "0" }));
        Assert.Equal("budget", e.ParamName);
        Assert.Contains("budget", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ohem", "iouThreshold", "1.5")]
    [InlineData("topk", "positiveFraction", "-0.1")]
    [InlineData("fgbg", "foregroundFraction", "2")]
    [InlineData("fgbg", "backgroundLow", "0.6")] // above backgroundHigh 0.5
    [InlineData("selective-backprop", "keepFraction", "0")]
    [InlineData("selective-backprop", "beta", "-1")]
    [InlineData("selective-backprop", "windowSize", "0")]
    [InlineData("selective-backprop", "windowSize", "2147483647")] // was an OutOfMemoryException in the constructor
    [InlineData("selective-backprop", "windowSize", "1048577")]
    [InlineData("selective-backprop", "beta", "1e300")]
    [InlineData("importance", "smoothing", "NaN")]
    [InlineData("importance", "smoothing", "1e300")]
    public void Out_of_range_options_are_named(string policy, string key, string value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SelectionPolicies.Create(policy, new Dictionary<string, string> { [key] = value }));
        Assert.Equal(key, e.ParamName);
    }

    [Fact]
    public void The_documented_maxima_are_accepted_and_one_past_them_is_not()
    {
        var max = SelectiveBackpropOptions.MaxWindowSize.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(SelectiveBackpropOptions.MaxWindowSize, ((SelectiveBackpropSelector)SelectionPolicies.Create("selective-backprop", new Dictionary<string, string> { ["windowSize"] = max })).Options.WindowSize);
        var smoothing = SelectionPolicies.Create("importance", new Dictionary<string, string> { ["smoothing"] = ImportanceOptions.MaxSmoothing.ToString("R", CultureInfo.InvariantCulture) });
        Assert.Equal(ImportanceOptions.MaxSmoothing, ((ImportanceSampler)smoothing).Options.Smoothing);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImportanceSampler(new() { Smoothing = Math.BitIncrement(ImportanceOptions.MaxSmoothing) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SelectiveBackpropSelector(new() { Beta = Math.BitIncrement(SelectiveBackpropOptions.MaxBeta) }));
    }

    /// <summary>
    /// Whatever text a request puts in any numeric option, the factory either rejects it with an
    /// ArgumentException naming that option, or builds a policy that selects well-formed RoIs with
    /// finite weights: no other exception type, no unbounded allocation.
    /// </summary>
    [Theory]
    [MemberData(nameof(Policies))]
    public void Any_option_value_is_rejected_by_name_or_yields_a_working_policy(string name, Type type)
    {
        var keys = type.GetProperty("Options")!.PropertyType
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name != "EqualityContract" && p.PropertyType != typeof(bool))
            .Select(p => char.ToLowerInvariant(p.Name[0]) + p.Name[1..])
            .ToArray();
        string[] extremes = ["0", "-1", "1", "2", "0.5", "1.5", "2147483647", "-2147483648", "2147483648", "1048576", "1048577",
            "1e300", "-1e300", "1e-300", "3.4e38", "NaN", "Infinity", "-Infinity", "-0", "", " ", "0x10", "1e", "99999999999999999999"];
        var values = Gen.OneOf(Gen.Elements(extremes), ArbMap.Default.GeneratorFor<double>().Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
            ArbMap.Default.GeneratorFor<int>().Select(i => i.ToString(CultureInfo.InvariantCulture)));
        var cases = (from key in Gen.Elements(keys)
                     from value in values
                     from c in RoiCase.Generator
                     select (key, value, c)).ToArbitrary();
        Properties.Check(Prop.ForAll(cases, x =>
        {
            var (key, value, c) = x;
            IHardExampleSelector policy;
            try
            {
                policy = SelectionPolicies.Create(name, new Dictionary<string, string> { [key] = value });
            }
            catch (ArgumentException e)
            {
                Assert.Contains(key, e.Message, StringComparison.Ordinal);
                return;
            }

            var s = policy.Select(c.Rois);
            SelectionAssert.WellFormed(s, c, null);
            Assert.All(s.Weights ?? [], w => Assert.True(float.IsFinite(w), $"weight {w} for {key} = {value}"));
        }), maxTest: 300);
    }

    [Fact]
    public void Beta_and_keepFraction_together_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new SelectiveBackpropSelector(new() { Beta = 1, KeepFraction = 0.5 }));
        Assert.Contains("beta", e.Message, StringComparison.Ordinal);
        Assert.Contains("keepFraction", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_key_twice_in_different_case_is_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => SelectionPolicies.Create("topk", new Dictionary<string, string> { ["budget"] = "1", ["Budget"] = "2" }));
        Assert.Contains("budget", e.Message, StringComparison.OrdinalIgnoreCase);
    }
}
