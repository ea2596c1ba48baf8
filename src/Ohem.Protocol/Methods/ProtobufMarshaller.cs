using Google.Protobuf;
using Ohem.Grpc;

namespace Ohem.Protocol.Methods;

/// <summary>Protobuf messages through the transport: written straight into its buffer, parsed from its sequence.</summary>
internal static class ProtobufMarshaller
{
    public static Marshaller<T> For<T>(MessageParser<T> parser) where T : class, IMessage<T> =>
        new(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
}
