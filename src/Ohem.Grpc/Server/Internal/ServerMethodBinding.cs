using Microsoft.Extensions.Logging;

namespace Ohem.Grpc.Server;

/// <summary>One registered method: its path and how to build its call handler once options and logging are known.</summary>
internal sealed record ServerMethodBinding(
    string ServiceName,
    string Path,
    Func<GrpcServerOptions, ILogger, IServerCallHandler> CreateHandler);
