using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Grpc.Core;
using Ohem.Protocol.V1;

namespace Ohem.Service.Tests;

/// <summary>
/// Server reflection on the running miner (Grpc.AspNetCore.Server.Reflection), v1alpha and v1:
/// the services it lists, the files it names, and descriptors that rebuild with Google.Protobuf
/// into the API we compiled.
/// </summary>
public sealed class ReflectionTests
{
    private static readonly string[] ServedServices =
        ["ohem.v1.HardExampleMiner", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"];

    [Fact]
    public async Task Our_client_lists_the_services_and_rebuilds_the_api_from_the_descriptors()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        foreach (var v1 in new[] { false, true })
        {
            var answers = await AskAsync(miner, v1,
                new ServerReflectionRequest { Host = "miner", ListServices = "" },
                new ServerReflectionRequest { FileContainingSymbol = "ohem.v1.HardExampleMiner.Mine" },
                new ServerReflectionRequest { FileByFilename = HealthReflection.Descriptor.Name }, // "health.proto" as Grpc.HealthCheck compiled it
                new ServerReflectionRequest { FileContainingSymbol = "ohem.v1.NoSuchThing" },
                new ServerReflectionRequest { FileByFilename = "ohem/v2/miner.proto" });

            Assert.Equal(ServedServices.Order(StringComparer.Ordinal), answers[0].ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));

            var api = Rebuild(answers[1]).Single(f => f.Name == "ohem/v1/miner.proto");
            var service = api.Services.Single();
            Assert.Equal("ohem.v1.HardExampleMiner", service.FullName);
            Assert.Equal(MinerReflection.Descriptor.Services.Single().Methods.Select(Signature), service.Methods.Select(Signature));
            Assert.Equal(MinerReflection.Descriptor.MessageTypes.Select(m => m.FullName), api.MessageTypes.Select(m => m.FullName));
            Assert.Equal(MinerReflection.Descriptor.SerializedData, answers[1].FileDescriptorResponse.FileDescriptorProto[0]);

            var health = Rebuild(answers[2]).Single();
            Assert.Equal(["Check", "Watch"], health.Services.Single().Methods.Select(m => m.Name));

            Assert.Equal((int)StatusCode.NotFound, answers[3].ErrorResponse.ErrorCode);
            Assert.Equal((int)StatusCode.NotFound, answers[4].ErrorResponse.ErrorCode);
        }
    }

    [Fact]
    public async Task Every_listed_service_is_served()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        var listed = (await AskAsync(miner, v1: false, new ServerReflectionRequest { ListServices = "*" }))[0].ListServicesResponse.Service;
        foreach (var name in listed.Select(s => s.Name))
        {
            // A method the service lacks: a mapped service answers UNIMPLEMENTED from its own route.
            var empty = Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom);
            var missing = new Method<Empty, Empty>(MethodType.Unary, name, "NoSuchMethod", empty, empty);
            var error = await Assert.ThrowsAsync<RpcException>(() => miner.Invoker.AsyncUnaryCall(missing, null, default, new Empty()).ResponseAsync);
            Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        }
    }

    [Fact]
    public async Task Reflection_can_be_turned_off()
    {
        await using var miner = await LoopbackMiner.StartAsync(("Miner:Reflection", "false"));
        var error = await Assert.ThrowsAsync<RpcException>(() => AskAsync(miner, v1: false, new ServerReflectionRequest { ListServices = "" }));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    /// <summary>
    /// Asks over one reflection stream, v1alpha or v1 (the same messages, field for field: v1's
    /// answers are read as v1alpha's).
    /// </summary>
    private static async Task<List<ServerReflectionResponse>> AskAsync(LoopbackMiner miner, bool v1, params ServerReflectionRequest[] requests)
    {
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30));
        var answers = new List<ServerReflectionResponse>();
        if (v1)
        {
            using var call = new global::Grpc.Reflection.V1.ServerReflection.ServerReflectionClient(miner.Channel).ServerReflectionInfo(options);
            foreach (var request in requests)
            {
                await call.RequestStream.WriteAsync(global::Grpc.Reflection.V1.ServerReflectionRequest.Parser.ParseFrom(request.ToByteArray()));
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                answers.Add(ServerReflectionResponse.Parser.ParseFrom(call.ResponseStream.Current.ToByteArray()));
            }

            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        }
        else
        {
            using var call = new ServerReflection.ServerReflectionClient(miner.Channel).ServerReflectionInfo(options);
            foreach (var request in requests)
            {
                await call.RequestStream.WriteAsync(request);
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                answers.Add(call.ResponseStream.Current);
            }

            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        }

        // One answer per request (Grpc.AspNetCore.Server.Reflection leaves original_request unset;
        // the callers check each answer's content, which fixes the order).
        Assert.Equal(requests.Length, answers.Count);
        return answers;
    }

    /// <summary>The answer's files built back into descriptors (dependencies first, as Google.Protobuf needs them).</summary>
    private static IReadOnlyList<FileDescriptor> Rebuild(ServerReflectionResponse answer)
    {
        var protos = answer.FileDescriptorResponse.FileDescriptorProto.ToDictionary(b => FileDescriptorProto.Parser.ParseFrom(b).Name);
        var ordered = new List<ByteString>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string name)
        {
            if (done.Add(name))
            {
                foreach (var dependency in FileDescriptorProto.Parser.ParseFrom(protos[name]).Dependency)
                {
                    Visit(dependency);
                }

                ordered.Add(protos[name]);
            }
        }

        foreach (var name in protos.Keys)
        {
            Visit(name);
        }

        return FileDescriptor.BuildFromByteStrings(ordered);
    }

    private static string Signature(MethodDescriptor m) =>
        $"{m.Name}({(m.IsClientStreaming ? "stream " : "")}{m.InputType.FullName}) -> {(m.IsServerStreaming ? "stream " : "")}{m.OutputType.FullName}";
}
