using Ohem.Grpc.Tests.Protos;

namespace Ohem.Grpc.Tests.Support;

/// <summary>The method descriptors of ohem.grpctest.TestService (Protos/grpc_test.proto), written by hand.</summary>
internal static class TestMethods
{
    public const string ServiceName = "ohem.grpctest.TestService";

    public static readonly Marshaller<Payload> PayloadMarshaller = Ohem.Protocol.Methods.ProtobufMarshaller.For(Payload.Parser);

    public static readonly Method<Payload, Payload> Unary = new(MethodType.Unary, ServiceName, "Unary", PayloadMarshaller, PayloadMarshaller);

    public static readonly Method<Payload, Payload> ClientStream = new(MethodType.ClientStreaming, ServiceName, "ClientStream", PayloadMarshaller, PayloadMarshaller);

    public static readonly Method<Payload, Payload> ServerStream = new(MethodType.ServerStreaming, ServiceName, "ServerStream", PayloadMarshaller, PayloadMarshaller);

    public static readonly Method<Payload, Payload> Duplex = new(MethodType.DuplexStreaming, ServiceName, "Duplex", PayloadMarshaller, PayloadMarshaller);

    /// <summary>Unary through the array-based marshaller (the other marshaller shape).</summary>
    public static readonly Method<Payload, Payload> UnaryArrays = new(
        MethodType.Unary, ServiceName, "Unary", ArrayBased(Payload.Parser), ArrayBased(Payload.Parser));

    /// <summary>A method the service does not have.</summary>
    public static readonly Method<Payload, Payload> Missing = new(MethodType.Unary, ServiceName, "Missing", PayloadMarshaller, PayloadMarshaller);

    /// <summary>A unary method of a custom service, for tests that register their own handlers.</summary>
    public static Method<Payload, Payload> Custom(MethodType type, string name) => new(type, "ohem.grpctest.Custom", name, PayloadMarshaller, PayloadMarshaller);

    /// <summary>The simple marshaller form, one array each way, so both forms are exercised.</summary>
    private static Marshaller<T> ArrayBased<T>(Google.Protobuf.MessageParser<T> parser)
        where T : class, Google.Protobuf.IMessage<T> =>
        new(message => Google.Protobuf.MessageExtensions.ToByteArray(message), bytes => parser.ParseFrom(bytes));
}
