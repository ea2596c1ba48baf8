using Grpc.Reflection.V1Alpha;
using Ohem.Grpc;

namespace Ohem.Protocol.Methods;

/// <summary>
/// gRPC server reflection, as protos/grpc/reflection declares it: v1alpha (what grpcurl and most
/// tools call) and v1. The two packages hold the same messages with the same field numbers, so
/// the v1alpha types carry both on the wire.
/// </summary>
internal static class ReflectionMethods
{
    public const string V1Alpha = "grpc.reflection.v1alpha.ServerReflection";
    public const string V1 = "grpc.reflection.v1.ServerReflection";

    public static readonly Method<ServerReflectionRequest, ServerReflectionResponse> InfoV1Alpha = Info(V1Alpha);

    public static readonly Method<ServerReflectionRequest, ServerReflectionResponse> InfoV1 = Info(V1);

    private static Method<ServerReflectionRequest, ServerReflectionResponse> Info(string service) => new(MethodType.DuplexStreaming, service, "ServerReflectionInfo",
        ProtobufMarshaller.For(ServerReflectionRequest.Parser), ProtobufMarshaller.For(ServerReflectionResponse.Parser));
}
