using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Ohem.Grpc.Server;

namespace Ohem.Grpc;

/// <summary>Maps a <see cref="ServerServiceDefinition"/> onto ASP.NET Core endpoint routing.</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps POST /package.Service/Method for each method, and POST /package.Service/{anything else}
    /// to UNIMPLEMENTED. Options come from <paramref name="options"/>, else from
    /// IOptions&lt;GrpcServerOptions&gt; when registered, else the defaults. Kestrel must serve the
    /// endpoint over HTTP/2 (for cleartext: an Http2-only endpoint).
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcService(
        this IEndpointRouteBuilder endpoints, ServerServiceDefinition definition, GrpcServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(definition);
        options ??= endpoints.ServiceProvider.GetService<IOptions<GrpcServerOptions>>()?.Value ?? new GrpcServerOptions();
        Ohem.Grpc.Internal.MessageCompression.Validate(options.ResponseCompression, nameof(options));
        var logger = endpoints.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger("Ohem.Grpc.Server") ?? NullLogger.Instance;

        var builders = new List<IEndpointConventionBuilder>();
        foreach (var method in definition.Methods)
        {
            var handler = method.CreateHandler(options, logger);
            builders.Add(endpoints.MapPost(method.Path, handler.HandleCallAsync).WithDisplayName("gRPC " + method.Path));
        }

        var unimplemented = new UnimplementedMethodHandler(logger);
        foreach (var service in definition.ServiceNames)
        {
            // A literal path beats this parameter route, so it only catches unknown methods.
            builders.Add(endpoints.MapPost("/" + service + "/{unimplementedMethod}", unimplemented.HandleCallAsync)
                .WithDisplayName("gRPC unimplemented " + service));
        }

        return new CompositeConventionBuilder(builders);
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders)
            {
                builder.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders)
            {
                builder.Finally(finallyConvention);
            }
        }
    }
}
