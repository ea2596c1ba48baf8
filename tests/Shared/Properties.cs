using FsCheck;

namespace Ohem.Testing;

/// <summary>Runs an FsCheck property from an xunit [Fact] (FsCheck.Xunit is not in the registry).</summary>
internal static class Properties
{
    public static void Check(Property property, int maxTest = 200) =>
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest), property);
}
