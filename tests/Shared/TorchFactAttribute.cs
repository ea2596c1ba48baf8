using Ohem.Reference;

namespace Ohem.Testing;

/// <summary>
/// A fact that needs Debian's torchvision. Where it cannot run the test is skipped with the reason,
/// except under CI (CI=true), where the README's test command installs it: there it must run, so a
/// missing install fails loudly instead of passing as a skip.
/// </summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (!ci && TorchReference.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
