namespace Ohem.Client;

/// <summary>
/// The addresses a trainer may give for its miners: one replica (http://host:port,
/// https://host:port), or all the replicas behind a name (dns:///name:port).
/// </summary>
public static class MinerEndpoint
{
    /// <summary>The forms accepted, for error messages.</summary>
    public const string Forms = "http://host:port, https://host:port or dns:///name:port";

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="field"/> when <paramref name="endpoint"/> is none of <see cref="Forms"/>.</summary>
    public static void Validate(string endpoint, string field, string? resolverScheme = null)
    {
        if (Problem(endpoint, resolverScheme) is { } problem)
        {
            throw new ArgumentException($"{field} '{endpoint}' {problem}; expected {Forms}.", field);
        }
    }

    /// <summary>Whether <paramref name="endpoint"/> (a valid one) names replicas to resolve rather than one replica.</summary>
    internal static bool IsResolved(string endpoint) => new Uri(endpoint).Scheme is not ("http" or "https");

    private static string? Problem(string endpoint, string? resolverScheme)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            return "is not an absolute address";
        }

        if (uri.Scheme is "http" or "https")
        {
            return uri.Host.Length == 0 ? "has no host" : null;
        }

        if (uri.Scheme != "dns" && !string.Equals(uri.Scheme, resolverScheme, StringComparison.OrdinalIgnoreCase))
        {
            return $"has the scheme '{uri.Scheme}'";
        }

        // dns:///name:port: the authority (a DNS server) is empty, the path is the name and port.
        var nameAndPort = uri.AbsolutePath.TrimStart('/');
        var colon = nameAndPort.LastIndexOf(':');
        if (uri.Authority.Length != 0 || colon <= 0)
        {
            return "does not name a host and port after three slashes";
        }

        return int.TryParse(nameAndPort.AsSpan(colon + 1), out var port) && port is >= 1 and <= 65535
            ? null
            : $"has the port '{nameAndPort[(colon + 1)..]}'";
    }
}
