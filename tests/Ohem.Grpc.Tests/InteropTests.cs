using Ohem.Testing;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>Python stubs of the test proto, generated once for the interop tests and deleted after.</summary>
public sealed class GrpcioStubs : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _directory;

    public async Task<string> GetDirectoryAsync()
    {
        await _lock.WaitAsync();
        try
        {
            if (_directory is null)
            {
                var directory = Directory.CreateTempSubdirectory("ohem-grpcio-").FullName;
                try
                {
                    await Grpcio.GenerateStubsAsync(directory, Path.Combine(AppContext.BaseDirectory, "Protos"), "grpc_test.proto");
                }
                catch
                {
                    Directory.Delete(directory, recursive: true);
                    throw;
                }

                _directory = directory;
            }

            return _directory;
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose()
    {
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }

        _lock.Dispose();
    }
}

/// <summary>
/// Our client against a grpcio server, and a grpcio client against our server (Debian's
/// python3-grpcio 1.51): the real third-party implementation the protocol is checked against.
/// </summary>
public sealed class InteropTests(GrpcioStubs stubs) : IClassFixture<GrpcioStubs>
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [GrpcioFact]
    public async Task Our_client_makes_every_kind_of_call_to_a_grpcio_server()
    {
        using var python = await StartGrpcioServerAsync("none");
        using var channel = GrpcChannel.ForAddress(python.Address);
        var invoker = channel.CreateCallInvoker();
        await ServiceChecks.UnaryAsync(invoker);
        await ServiceChecks.ClientStreamAsync(invoker);
        await ServiceChecks.ServerStreamAsync(invoker);
        await ServiceChecks.DuplexAsync(invoker);
        await ServiceChecks.ErrorStatusAsync(invoker);
        await ServiceChecks.ErrorAfterMessagesAsync(invoker);
        await ServiceChecks.MetadataAsync(invoker);
        await ServiceChecks.DeadlineAsync(invoker);
        await ServiceChecks.UnimplementedAsync(invoker);
    }

    [GrpcioFact]
    public async Task Our_client_exchanges_gzip_and_big_messages_with_a_grpcio_server()
    {
        using var python = await StartGrpcioServerAsync("gzip");
        var recorder = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress(
            python.Address,
            new GrpcChannelOptions { HttpHandler = recorder, DisposeHttpHandler = true, RequestCompression = "gzip", MaxReceiveMessageSize = 64 << 20 });
        var invoker = channel.CreateCallInvoker();

        // Random bytes (incompressible) and a long run of repeats (very compressible), 8 MB each.
        var random = new byte[8 << 20];
        new Random(7).NextBytes(random);
        foreach (var data in new[] { random, new byte[8 << 20] })
        {
            var request = new Payload { Id = 1, Data = ByteString.CopyFrom(data) };
            var response = await invoker.AsyncUnaryCall(TestMethods.Unary, null, new CallOptions(deadline: Bounded.Deadline), request).ResponseAsync.Within();
            Assert.Equal(2, response.Id);
            Assert.True(response.Data.Span.SequenceEqual(data));
        }

        await ServiceChecks.DuplexAsync(invoker);
        Assert.All(recorder.Requests, r => Assert.Equal("gzip", r.Headers.GetValues("grpc-encoding").Single()));
        Assert.All(recorder.Responses, r => Assert.Equal("gzip", r.Headers.GetValues("grpc-encoding").Single()));
    }

    [GrpcioFact]
    public Task A_grpcio_client_makes_every_kind_of_call_to_our_server() => RunGrpcioClientAsync(compression: null);

    [GrpcioFact]
    public Task A_grpcio_client_exchanges_gzip_with_our_server() => RunGrpcioClientAsync(compression: "gzip");

    [GrpcioFact]
    public Task A_grpcio_client_exchanges_deflate_with_our_server() => RunGrpcioClientAsync(compression: "deflate");

    private async Task RunGrpcioClientAsync(string? compression)
    {
        var requestEncodings = new System.Collections.Concurrent.ConcurrentBag<string>();
        var options = new GrpcServerOptions { MaxReceiveMessageSize = 64 << 20, ResponseCompression = compression };
        await using var server = await TestServer.StartAsync(endpoints =>
        {
            // Record what grpcio sent, to check compression really was used.
            ((IApplicationBuilder)endpoints).Use((context, next) =>
            {
                requestEncodings.Add(context.Request.Headers["grpc-encoding"].ToString());
                return next(context);
            });
            endpoints.MapGrpcService(TestServiceImpl.Definition(), options);
        });

        using var client = PythonProcess.Start(
            [Grpcio.Script("interop_client.py"), "--port", server.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--compression", compression ?? "none"],
            await stubs.GetDirectoryAsync());
        var exit = await client.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.True(exit == 0, $"grpcio client failed ({exit}):\n{client.Log}");
        foreach (var check in new[] { "unary", "client_stream", "server_stream", "duplex", "metadata", "error_status", "error_after_messages", "deadline", "unimplemented", "big_message" })
        {
            Assert.Contains("OK " + check, client.Log, StringComparison.Ordinal);
        }

        Assert.NotEmpty(requestEncodings);
        if (compression is not null)
        {
            Assert.Contains(compression, requestEncodings);
        }
    }

    private async Task<GrpcioServer> StartGrpcioServerAsync(string compression)
    {
        var python = PythonProcess.Start([Grpcio.Script("interop_server.py"), "--compression", compression], await stubs.GetDirectoryAsync());
        try
        {
            var line = await python.ReadLineAsync(StartTimeout);
            Assert.StartsWith("PORT ", line, StringComparison.Ordinal);
            return new GrpcioServer(python, new Uri("http://127.0.0.1:" + line["PORT ".Length..].Trim()));
        }
        catch
        {
            python.Dispose();
            throw;
        }
    }

    private sealed record GrpcioServer(PythonProcess Process, Uri Address) : IDisposable
    {
        public void Dispose() => Process.Dispose();
    }
}
