using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Ohem.Grpc;
using Ohem.Protocol.Methods;
using Ohem.Protocol.V1;
using Ohem.Service.Api;
using Ohem.Testing;

namespace Ohem.Service.Tests;

/// <summary>
/// Server reflection on the running miner, through our own client: the services it lists, the
/// files it names, and descriptors that rebuild with Google.Protobuf into the API we compiled.
/// </summary>
public sealed class ReflectionTests
{
    private static readonly string[] ServedServices =
        ["ohem.v1.HardExampleMiner", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"];

    [Fact]
    public async Task Our_client_lists_the_services_and_rebuilds_the_api_from_the_descriptors()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        foreach (var method in new[] { ReflectionMethods.InfoV1Alpha, ReflectionMethods.InfoV1 })
        {
            var answers = await AskAsync(miner, method,
                new ServerReflectionRequest { Host = "miner", ListServices = "" },
                new ServerReflectionRequest { FileContainingSymbol = "ohem.v1.HardExampleMiner.Mine" },
                new ServerReflectionRequest { FileByFilename = "grpc/health/v1/health.proto" },
                new ServerReflectionRequest { FileContainingSymbol = "ohem.v1.NoSuchThing" },
                new ServerReflectionRequest { FileByFilename = "ohem/v2/miner.proto" });

            Assert.Equal("miner", answers[0].ValidHost);
            Assert.Equal(ServedServices, answers[0].ListServicesResponse.Service.Select(s => s.Name));

            var api = Rebuild(answers[1]).Single(f => f.Name == "ohem/v1/miner.proto");
            var service = api.Services.Single();
            Assert.Equal("ohem.v1.HardExampleMiner", service.FullName);
            Assert.Equal(MinerReflection.Descriptor.Services.Single().Methods.Select(Signature), service.Methods.Select(Signature));
            Assert.Equal(MinerReflection.Descriptor.MessageTypes.Select(m => m.FullName), api.MessageTypes.Select(m => m.FullName));
            Assert.Equal(MinerReflection.Descriptor.SerializedData, answers[1].FileDescriptorResponse.FileDescriptorProto[0]);

            var health = Rebuild(answers[2]).Single();
            Assert.Equal(["Check", "Watch"], health.Services.Single().Methods.Select(m => m.Name));

            Assert.Equal((int)StatusCode.NotFound, answers[3].ErrorResponse.ErrorCode);
            Assert.Contains("ohem.v1.NoSuchThing", answers[3].ErrorResponse.ErrorMessage, StringComparison.Ordinal);
            Assert.Equal((int)StatusCode.NotFound, answers[4].ErrorResponse.ErrorCode);
            Assert.Equal("ohem/v2/miner.proto", answers[4].OriginalRequest.FileByFilename);
        }
    }

    [Fact]
    public async Task Every_listed_service_is_served()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        var listed = (await AskAsync(miner, ReflectionMethods.InfoV1Alpha, new ServerReflectionRequest { ListServices = "*" }))[0].ListServicesResponse.Service;
        foreach (var name in listed.Select(s => s.Name))
        {
            // A method the service lacks: a mapped service answers UNIMPLEMENTED from its own route.
            var missing = new Method<Empty, Empty>(MethodType.Unary, name, "NoSuchMethod", ProtobufMarshaller.For(Empty.Parser), ProtobufMarshaller.For(Empty.Parser));
            var error = await Assert.ThrowsAsync<RpcException>(() => miner.Invoker.AsyncUnaryCall(missing, null, default, new Empty()).ResponseAsync);
            Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
            Assert.Contains(name, error.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Reflection_can_be_turned_off()
    {
        await using var miner = await LoopbackMiner.StartAsync(("Miner:Reflection", "false"));
        var error = await Assert.ThrowsAsync<RpcException>(() => AskAsync(miner, ReflectionMethods.InfoV1Alpha, new ServerReflectionRequest { ListServices = "" }));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public void A_file_comes_with_everything_it_imports_each_once()
    {
        // google/protobuf/api.proto imports source_context.proto and type.proto, which imports any.proto and source_context.proto.
        var reflection = new ReflectionService([ApiReflection.Descriptor]);
        var answer = reflection.Answer(new ServerReflectionRequest { FileContainingSymbol = "google.protobuf.Method" });
        var names = answer.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b).Name).ToList();
        Assert.Equal("google/protobuf/api.proto", names[0]);
        Assert.Equal(
            ["google/protobuf/any.proto", "google/protobuf/api.proto", "google/protobuf/source_context.proto", "google/protobuf/type.proto"],
            names.Order(StringComparer.Ordinal));
        Assert.Equal("google.protobuf.Api", Rebuild(answer).Single(f => f.Name == "google/protobuf/api.proto").MessageTypes[0].FullName);

        // Services come only from the files given, not from what they import.
        Assert.Equal(["grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"], reflection.Services);
        var extensions = reflection.Answer(new ServerReflectionRequest { AllExtensionNumbersOfType = "google.protobuf.Type" });
        Assert.Equal("google.protobuf.Type", extensions.AllExtensionNumbersResponse.BaseTypeName);
        Assert.Empty(extensions.AllExtensionNumbersResponse.ExtensionNumber);
        Assert.Equal((int)StatusCode.NotFound, reflection.Answer(new ServerReflectionRequest { FileContainingExtension = new ExtensionRequest { ContainingType = "google.protobuf.Type", ExtensionNumber = 100 } }).ErrorResponse.ErrorCode);
        Assert.Equal((int)StatusCode.Unimplemented, reflection.Answer(new ServerReflectionRequest()).ErrorResponse.ErrorCode);
    }

    /// <summary>
    /// Every symbol the served files declare (services, methods, messages and enums, nested
    /// ones too) resolves to the file that declares it, first in the answer; any other name,
    /// including a declared one with a character changed, is NOT_FOUND.
    /// </summary>
    [Fact]
    public void Every_declared_symbol_resolves_to_its_file_and_nothing_else_does()
    {
        var reflection = new ReflectionService([MinerReflection.Descriptor, HealthReflection.Descriptor]);
        var symbols = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in new[] { MinerReflection.Descriptor, HealthReflection.Descriptor, ReflectionReflection.Descriptor, global::Grpc.Reflection.V1.ReflectionReflection.Descriptor })
        {
            foreach (var (symbol, _) in Symbols(file))
            {
                symbols[symbol] = file.Name;
            }
        }

        Assert.Contains("grpc.health.v1.HealthCheckResponse.ServingStatus", symbols.Keys);
        Assert.Contains("ohem.v1.SelectionPolicy.OptionsEntry", symbols.Keys);
        var names = symbols.Keys.Order(StringComparer.Ordinal).ToArray();
        var cases = (from index in Gen.Choose(0, names.Length - 1)
                     from mutate in Gen.Elements(false, true)
                     from position in Gen.Choose(0, 1000)
                     from replacement in Gen.Elements('x', '.', 'Q', '_')
                     select (index, mutate, position, replacement)).ToArbitrary();
        Properties.Check(Prop.ForAll(cases, c =>
        {
            var name = names[c.index];
            if (c.mutate)
            {
                var chars = name.ToCharArray();
                chars[c.position % chars.Length] = c.replacement;
                name = new string(chars);
            }

            var answer = reflection.Answer(new ServerReflectionRequest { FileContainingSymbol = name });
            return symbols.TryGetValue(name, out var file)
                ? answer.FileDescriptorResponse is { } found && FileDescriptorProto.Parser.ParseFrom(found.FileDescriptorProto[0]).Name == file
                : answer.ErrorResponse?.ErrorCode == (int)StatusCode.NotFound;
        }), maxTest: 500);
    }

    private static async Task<List<ServerReflectionResponse>> AskAsync(
        LoopbackMiner miner, Method<ServerReflectionRequest, ServerReflectionResponse> method, params ServerReflectionRequest[] requests)
    {
        using var call = miner.Invoker.AsyncDuplexStreamingCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
        var answers = new List<ServerReflectionResponse>();
        foreach (var request in requests)
        {
            await call.RequestStream.WriteAsync(request);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(request, call.ResponseStream.Current.OriginalRequest); // one answer per request, in order
            answers.Add(call.ResponseStream.Current);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
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

    private static IEnumerable<(string Symbol, FileDescriptor File)> Symbols(FileDescriptor file)
    {
        foreach (var service in file.Services)
        {
            yield return (service.FullName, file);
            foreach (var method in service.Methods)
            {
                yield return (method.FullName, file);
            }
        }

        foreach (var e in file.EnumTypes)
        {
            yield return (e.FullName, file);
        }

        IEnumerable<string> Message(MessageDescriptor m) =>
            new[] { m.FullName }.Concat(m.EnumTypes.Select(e => e.FullName)).Concat(m.NestedTypes.SelectMany(Message));
        foreach (var symbol in file.MessageTypes.SelectMany(Message))
        {
            yield return (symbol, file);
        }
    }
}
