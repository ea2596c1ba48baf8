namespace Ohem.Grpc;

/// <summary>
/// A method of a service: its kind, names and marshallers. The HTTP/2 path is
/// <see cref="FullName"/> = "/" + service + "/" + name, case-sensitive.
/// </summary>
public sealed class Method<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    public Method(
        MethodType type,
        string serviceName,
        string name,
        Marshaller<TRequest> requestMarshaller,
        Marshaller<TResponse> responseMarshaller)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (serviceName.Contains('/', StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("Service and method names must not contain '/'.");
        }

        Type = type;
        ServiceName = serviceName;
        Name = name;
        RequestMarshaller = requestMarshaller ?? throw new ArgumentNullException(nameof(requestMarshaller));
        ResponseMarshaller = responseMarshaller ?? throw new ArgumentNullException(nameof(responseMarshaller));
        FullName = "/" + serviceName + "/" + name;
    }

    public MethodType Type { get; }

    /// <summary>The fully qualified service name, e.g. "ohem.v1.HardExampleMiner".</summary>
    public string ServiceName { get; }

    public string Name { get; }

    /// <summary>The request path: "/" + <see cref="ServiceName"/> + "/" + <see cref="Name"/>.</summary>
    public string FullName { get; }

    public Marshaller<TRequest> RequestMarshaller { get; }

    public Marshaller<TResponse> ResponseMarshaller { get; }

    public override string ToString() => FullName;
}
