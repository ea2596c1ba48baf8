using System.Text.Json;
using Microsoft.Extensions.Options;
using Ohem.Onnx.Export;
using Ohem.Protocol.V1;
using Ohem.Service.Mining;
using Ohem.Testing;

namespace Ohem.Service.Tests;

/// <summary>
/// A real third-party client: grpcio (Debian's python3-grpcio), with stubs generated from
/// protos/ at test time, calls every RPC of the running miner.
/// </summary>
public class PythonInteropTests
{
    [GrpcioFact]
    public async Task A_grpcio_client_generated_from_the_protos_calls_every_rpc()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        var work = Directory.CreateTempSubdirectory("ohem-interop-");
        try
        {
            var stubs = Directory.CreateDirectory(Path.Combine(work.FullName, "stubs")).FullName;
            await Grpcio.GenerateStubsAsync(stubs, Path.Combine(AppContext.BaseDirectory, "protos"), "ohem/v1/miner.proto", "grpc/health/v1/health.proto");

            var weights = TestJobs.Weights(1);
            var request = TestJobs.Request("py", 70, seed: 9);
            await InteropSeeds.WriteAsync(work.FullName, request);

            using var client = PythonProcess.Start([Grpcio.Script("miner_client.py"), $"127.0.0.1:{miner.Address.Port}", work.FullName, stubs]);
            var exit = await client.WaitForExitAsync(TimeSpan.FromSeconds(120));
            Assert.True(exit == 0 && client.Log.Contains("ALL OK", StringComparison.Ordinal), $"grpcio client exited {exit}:\n{client.Log}");

            // The indices grpcio received equal the same batch mined in-process.
            using var registry = TestJobs.Registry();
            registry.Register("py", TestJobs.Model(), null, false).Weights.Install(1, weights);
            var expected = await new BatchMiner(registry, Options.Create(new MinerOptions())).MineAsync(request, new PolicyCache(), CancellationToken.None);
            var bytes = await File.ReadAllBytesAsync(Path.Combine(work.FullName, "responses.bin"));
            var length = BitConverter.ToInt32(bytes, 0);
            var first = MineResponse.Parser.ParseFrom(bytes, 4, length);
            Assert.Equal(expected.Images.Select(i => i.Indices.ToArray()), first.Images.Select(i => i.Indices.ToArray()));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Debian's grpcio has no grpc_reflection module: the stubs come from our copies of the
    /// upstream reflection protos, and the descriptors are parsed by Python's own descriptor_pb2.
    /// </summary>
    [GrpcioFact]
    public async Task A_grpcio_client_reads_the_api_through_server_reflection()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        var stubs = Directory.CreateTempSubdirectory("ohem-reflection-");
        try
        {
            await Grpcio.GenerateStubsAsync(stubs.FullName, Path.Combine(AppContext.BaseDirectory, "protos"),
                "grpc/reflection/v1alpha/reflection.proto", "grpc/reflection/v1/reflection.proto");
            using var client = PythonProcess.Start([Grpcio.Script("reflection_client.py"), $"127.0.0.1:{miner.Address.Port}", stubs.FullName]);
            var exit = await client.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.True(exit == 0 && client.Log.Contains("ALL OK", StringComparison.Ordinal), $"grpcio client exited {exit}:\n{client.Log}");
        }
        finally
        {
            stubs.Delete(recursive: true);
        }
    }
}
