using Google.Protobuf;

namespace Ohem.Grpc.Tests.Support;

/// <summary>
/// Protobuf marshallers in the cheap form: the size is known up front, so the message is written
/// straight into the transport's buffers, and parsed from the received segments in place.
/// </summary>
internal static class ProtoMarshaller
{
    public static Marshaller<T> Create<T>(MessageParser<T> parser)
        where T : IMessage<T> =>
        new(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    /// <summary>The simple form: one array each way.</summary>
    public static Marshaller<T> CreateArrayBased<T>(MessageParser<T> parser)
        where T : IMessage<T> =>
        new(message => message.ToByteArray(), bytes => parser.ParseFrom(bytes));
}
