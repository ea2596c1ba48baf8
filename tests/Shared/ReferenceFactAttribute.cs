namespace Ohem.Testing;

/// <summary>
/// A fact that needs an independent reference installed from Debian (torch, grpcio, ...). Where it
/// is missing the test is skipped with the reason, except under CI (CI=true), where the README's
/// test command installs it: there the test must run, so a missing install fails loudly.
/// </summary>
public abstract class ReferenceFactAttribute : FactAttribute
{
    protected ReferenceFactAttribute(string? unavailableReason)
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (!ci && unavailableReason is not null)
        {
            Skip = unavailableReason;
        }
    }
}
