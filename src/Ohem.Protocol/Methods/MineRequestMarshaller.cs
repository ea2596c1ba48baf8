using System.Buffers;
using Google.Protobuf;
using Ohem.Grpc;
using Ohem.Protocol.V1;

namespace Ohem.Protocol.Methods;

/// <summary>
/// Mine requests with their feature bytes sent from where they lie. The message goes out with
/// the features field last and features.data last inside it (protobuf fixes no field order: any
/// parser reads the same message), so the feature bytes are the payload's tail and reach the
/// transport by reference instead of being copied into its buffers first: megabytes per batch
/// that the trainer's CPU no longer copies. Small features take the usual serializer.
/// </summary>
internal static class MineRequestMarshaller
{
    /// <summary>Features below this size are serialized the usual way.</summary>
    public const int MinimumTailBytes = 64 * 1024;

    private static readonly Marshaller<MineRequest> Usual = ProtobufMarshaller.For(MineRequest.Parser);

    public static readonly Marshaller<MineRequest> Instance = new(Serialize, Usual.ContextualDeserializer);

    private static void Serialize(MineRequest request, SerializationContext context)
    {
        var data = request.Features?.Data;
        if (data is null || data.Length < MinimumTailBytes)
        {
            Usual.ContextualSerializer(request, context);
            return;
        }

        // The clone shares the feature bytes (a ByteString is immutable) and copies the rest.
        var head = request.Clone();
        var tensor = head.Features;
        head.Features = null;
        tensor.Data = ByteString.Empty;
        var featuresLength = tensor.CalculateSize()
            + CodedOutputStream.ComputeTagSize(Tensor.DataFieldNumber) + CodedOutputStream.ComputeLengthSize(data.Length) + data.Length;
        var headLength = head.CalculateSize();
        var featuresHeaderLength = CodedOutputStream.ComputeTagSize(MineRequest.FeaturesFieldNumber) + CodedOutputStream.ComputeLengthSize(featuresLength);
        context.SetPayloadLength(headLength + featuresHeaderLength + featuresLength);

        var writer = context.GetBufferWriter();
        head.WriteTo(writer);
        var middle = new byte[featuresHeaderLength + featuresLength - data.Length];
        var output = new CodedOutputStream(middle);
        output.WriteTag(MineRequest.FeaturesFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteLength(featuresLength);
        tensor.WriteTo(output);
        output.WriteTag(Tensor.DataFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteLength(data.Length);
        output.CheckNoSpaceLeft();
        writer.Write(middle);
        context.Complete(data.Memory);
    }
}
