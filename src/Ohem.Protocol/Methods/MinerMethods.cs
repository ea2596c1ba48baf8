using Grpc.Health.V1;
using Ohem.Grpc;
using Ohem.Protocol.V1;

namespace Ohem.Protocol.Methods;

/// <summary>The API's methods, named as protos/ declares them (a test checks them against the descriptors).</summary>
internal static class MinerMethods
{
    public const string Miner = "ohem.v1.HardExampleMiner";
    public const string Health = "grpc.health.v1.Health";

    public static readonly Method<MineRequest, MineResponse> Mine = new(MethodType.DuplexStreaming, Miner, "Mine",
        MineRequestMarshaller.Instance, ProtobufMarshaller.For(MineResponse.Parser));

    public static readonly Method<RegisterModelRequest, RegisterModelResponse> RegisterModel = new(MethodType.Unary, Miner, "RegisterModel",
        ProtobufMarshaller.For(RegisterModelRequest.Parser), ProtobufMarshaller.For(RegisterModelResponse.Parser));

    public static readonly Method<PublishWeightsRequest, PublishWeightsResponse> PublishWeights = new(MethodType.ClientStreaming, Miner, "PublishWeights",
        ProtobufMarshaller.For(PublishWeightsRequest.Parser), ProtobufMarshaller.For(PublishWeightsResponse.Parser));

    public static readonly Method<GetStatusRequest, GetStatusResponse> GetStatus = new(MethodType.Unary, Miner, "GetStatus",
        ProtobufMarshaller.For(GetStatusRequest.Parser), ProtobufMarshaller.For(GetStatusResponse.Parser));

    public static readonly Method<DeleteJobRequest, DeleteJobResponse> DeleteJob = new(MethodType.Unary, Miner, "DeleteJob",
        ProtobufMarshaller.For(DeleteJobRequest.Parser), ProtobufMarshaller.For(DeleteJobResponse.Parser));

    public static readonly Method<HealthCheckRequest, HealthCheckResponse> Check = new(MethodType.Unary, Health, "Check",
        ProtobufMarshaller.For(HealthCheckRequest.Parser), ProtobufMarshaller.For(HealthCheckResponse.Parser));

    public static readonly Method<HealthCheckRequest, HealthCheckResponse> Watch = new(MethodType.ServerStreaming, Health, "Watch",
        ProtobufMarshaller.For(HealthCheckRequest.Parser), ProtobufMarshaller.For(HealthCheckResponse.Parser));
}
