using Ohem.Testing;
using Ohem.Trainer.Data;

namespace Ohem.Trainer.Tests.Support;

/// <summary>What a test needs from the machine (Debian packages that scripts/setup.sh installs).</summary>
[Flags]
public enum Needs
{
    /// <summary>Debian's dataset-fashion-mnist.</summary>
    FashionMnist = 1,

    /// <summary>/usr/bin/python3 (standard library only).</summary>
    Python = 2,

    /// <summary>numpy importable from /usr/bin/python3.</summary>
    Numpy = 4 | Python,

    /// <summary>PIL importable from /usr/bin/python3.</summary>
    Pillow = 8 | Python,
}

/// <summary>A fact skipped with the reason where a prerequisite is missing, except under CI (CI=true) where it must run.</summary>
public sealed class NeedsFactAttribute(Needs needs) : ReferenceFactAttribute(Prerequisites.UnavailableReason(needs));

internal static class Prerequisites
{
    public static string? UnavailableReason(Needs needs)
    {
        var reasons = new List<string>();
        if (needs.HasFlag(Needs.FashionMnist) && !File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "t10k-labels-idx1-ubyte.gz")))
        {
            reasons.Add($"Fashion-MNIST not found in {FashionMnist.DefaultDirectory} (Debian package dataset-fashion-mnist)");
        }

        if (needs.HasFlag(Needs.Python) && DebianPython.PythonUnavailable is { } noPython)
        {
            reasons.Add(noPython);
        }
        else if (needs.HasFlag(Needs.Numpy) && DebianPython.NumpyUnavailable is { } noNumpy)
        {
            reasons.Add(noNumpy);
        }
        else if (needs.HasFlag(Needs.Pillow) && DebianPython.PillowUnavailable is { } noPillow)
        {
            reasons.Add(noPillow);
        }

        return reasons.Count == 0 ? null : string.Join("; ", reasons);
    }
}
