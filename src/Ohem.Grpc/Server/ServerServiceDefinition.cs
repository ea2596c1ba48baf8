using Ohem.Grpc.Server;

namespace Ohem.Grpc;

/// <summary>A service's methods and their handlers, ready to map onto endpoints with MapGrpcService.</summary>
public sealed class ServerServiceDefinition
{
    private ServerServiceDefinition(IReadOnlyList<ServerMethodBinding> methods)
    {
        Methods = methods;
    }

    internal IReadOnlyList<ServerMethodBinding> Methods { get; }

    /// <summary>The distinct service names the methods belong to.</summary>
    public IEnumerable<string> ServiceNames => Methods.Select(m => m.ServiceName).Distinct(StringComparer.Ordinal);

    public static Builder CreateBuilder() => new();

    /// <summary>Registers one handler per method, of the method's call kind.</summary>
    public sealed class Builder
    {
        private readonly List<ServerMethodBinding> _methods = [];
        private readonly HashSet<string> _paths = new(StringComparer.Ordinal);

        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class =>
            Add(method, MethodType.Unary, handler, (o, l) => new UnaryServerCallHandler<TRequest, TResponse>(method, handler, o, l));

        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class =>
            Add(method, MethodType.ClientStreaming, handler, (o, l) => new ClientStreamingServerCallHandler<TRequest, TResponse>(method, handler, o, l));

        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class =>
            Add(method, MethodType.ServerStreaming, handler, (o, l) => new ServerStreamingServerCallHandler<TRequest, TResponse>(method, handler, o, l));

        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class =>
            Add(method, MethodType.DuplexStreaming, handler, (o, l) => new DuplexStreamingServerCallHandler<TRequest, TResponse>(method, handler, o, l));

        public ServerServiceDefinition Build() => new(_methods.ToArray());

        private Builder Add<TRequest, TResponse>(
            Method<TRequest, TResponse> method, MethodType kind, Delegate handler, Func<GrpcServerOptions, Microsoft.Extensions.Logging.ILogger, IServerCallHandler> create)
            where TRequest : class
            where TResponse : class
        {
            ArgumentNullException.ThrowIfNull(method);
            ArgumentNullException.ThrowIfNull(handler);
            if (method.Type != kind)
            {
                throw new ArgumentException($"Method {method.FullName} is {method.Type}, but the handler is for {kind}.", nameof(method));
            }

            if (!_paths.Add(method.FullName))
            {
                throw new ArgumentException($"Method {method.FullName} is already registered.", nameof(method));
            }

            _methods.Add(new ServerMethodBinding(method.ServiceName, method.FullName, create));
            return this;
        }
    }
}
