namespace Ohem.Testing;

/// <summary>
/// A fact that needs Debian's grpcio. Where it cannot be imported the test is skipped with the
/// reason, except under CI (CI=true), where it must run: a missing install fails loudly instead of
/// passing as a skip.
/// </summary>
public sealed class GrpcioFactAttribute : FactAttribute
{
    public GrpcioFactAttribute()
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (!ci && Grpcio.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
