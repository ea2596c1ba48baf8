namespace Ohem.Testing;

/// <summary>A fact that needs Debian's grpcio and grpc_tools (<see cref="Grpcio"/>).</summary>
public sealed class GrpcioFactAttribute() : ReferenceFactAttribute(Grpcio.UnavailableReason);
