using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using Ohem.Client;
using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;
using Ohem.Protocol.V1;
using Ohem.Reference;
using Ohem.Service.Api;
using Ohem.Service.Mining;
using Ohem.Service.Transport;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>
/// The miner's transport on loopback, each figure beside the same work in-process:
/// (1) feature payload through one Mine stream on grpc-dotnet (Grpc.Net.Client to Grpc.AspNetCore:
/// framing, the socket, the one protobuf parse) with a server that only parses (the miner's
/// Kestrel settings and pooled receive path), beside the same
/// parse of the same bytes in-process and beside the platform's HTTP/2 upload ceiling measured
/// in the same run; the CPU both ends spend per batch; (2) full mining round
/// trips of 2 x 2,000 RoIs over [2, 256, 38, 50], beside the same scoring in-process.
/// </summary>
internal static class TransportBenchmark
{
    public static Command Command()
    {
        var batches = new Option<int>("--batches") { Description = "Batches for the payload test.", DefaultValueFactory = _ => 200 };
        var mined = new Option<int>("--mined") { Description = "Batches for the mining round trips.", DefaultValueFactory = _ => 6 };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the table as Markdown here." };
        var payloadOnly = new Option<bool>("--payload-only") { Description = "Only the payload rows (no ONNX model, no mining): quick, for profiling the transport." };
        var command = new Command("transport", "Mine stream throughput on loopback vs the same work in-process.") { batches, mined, markdown, payloadOnly };
        command.SetAction(r => Run(r.GetValue(batches), r.GetValue(payloadOnly) ? 0 : r.GetValue(mined), r.GetValue(markdown)).GetAwaiter().GetResult());
        return command;
    }

    private static readonly RoiHeadSpec Spec = new(256, 7, 7, 1f / 16, [1024, 1024], 20);

    private static async Task<int> Run(int batchCount, int minedCount, FileInfo? markdown)
    {
        var rows = new List<string[]>();
        await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).StartAsync(async ctx =>
        {
            var payloadTask = ctx.AddTask("feature payload through one stream", maxValue: 1);
            var (ceilingRow, ceiling) = await RawHttp2Row(batchCount);
            rows.Add(ceilingRow);
            rows.AddRange(await PayloadRows(batchCount, DataType.Float32, ceiling));
            rows.AddRange(await PayloadRows(batchCount, DataType.Float16, ceiling));
            payloadTask.Increment(1);
            if (minedCount > 0)
            {
                var miningTask = ctx.AddTask("mining round trips", maxValue: 1);
                rows.Add(await MiningRow(minedCount));
                miningTask.Increment(1);
            }
        });

        string[] headers = ["what", "loopback", "in-process reference", "ratio"];
        var table = new Table().Title("Miner transport on loopback, 1 stream");
        foreach (var h in headers)
        {
            table.AddColumn(h);
        }

        var md = new System.Text.StringBuilder($"| {string.Join(" | ", headers)} |\n|---|---:|---:|---:|\n");
        foreach (var row in rows)
        {
            table.AddRow(row.Select(Markup.Escape).ToArray());
            md.Append(CultureInfo.InvariantCulture, $"| {string.Join(" | ", row)} |\n");
        }

        AnsiConsole.Write(table);
        Console.WriteLine();
        Console.Write(md);
        if (markdown is not null)
        {
            await File.WriteAllTextAsync(markdown.FullName, md.ToString());
        }

        return 0;
    }

    /// <summary>A miner-shaped batch: [2, 256, 38, 50] features and 2 x 2,000 RoIs.</summary>
    private static MineRequest Batch(ulong id, DataType dtype)
    {
        var rng = new Random(1);
        var values = new float[2 * 256 * 38 * 50];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = MathF.Max(0f, (float)(rng.NextDouble() * 2 - 1));
        }

        var data = dtype == DataType.Float32
            ? ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()))
            : ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()));
        var request = new MineRequest
        {
            JobId = "bench",
            BatchId = id,
            Features = new Tensor { Shape = { 2, 256, 38, 50 }, Dtype = dtype, Data = data },
            Policy = new SelectionPolicy { Name = "ohem" },
        };
        for (var i = 0; i < 2; i++)
        {
            var (boxes, _) = SyntheticProposals.Generate(2000, i, width: 800, height: 608);
            var image = new ImageRois();
            image.Boxes.Add(boxes);
            image.Labels.Add(Enumerable.Range(0, 2000).Select(r => r % 4 == 0 ? 1 + r % 20 : 0));
            image.BoxTargets.Add(Enumerable.Repeat(0.1f, 8000));
            request.Images.Add(image);
        }

        return request;
    }

    /// <summary>
    /// The platform's own ceiling: one HTTP/2 request streaming 4 MB writes from HttpClient to a
    /// Kestrel endpoint that discards them, no gRPC, no protobuf, same windows as the miner.
    /// </summary>
    private static async Task<(string[] Row, double BytesPerSecond)> RawHttp2Row(int count)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseLargeMessageTransport(); // the miner's Kestrel settings
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
        });
        await using var app = builder.Build();
        app.MapPost("/sink", async (Microsoft.AspNetCore.Http.HttpContext context) =>
        {
            long received = 0;
            while (true)
            {
                var read = await context.Request.BodyReader.ReadAsync();
                received += read.Buffer.Length;
                context.Request.BodyReader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return received;
                }
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient(new SocketsHttpHandler { InitialHttp2StreamWindowSize = 16 << 20 });
        var chunk = new byte[4 << 20];
        async Task<double> Upload(int writes)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, address + "/sink")
            {
                Version = System.Net.HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new RepeatedContent(chunk, writes),
            };
            var start = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request);
            await response.Content.ReadAsStringAsync();
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        await Upload(10);
        var seconds = await Upload(count);
        await app.StopAsync();
        return (["HTTP/2 upload ceiling, HttpClient to Kestrel, no gRPC (4 MB writes), GB/s", Gbps(chunk.Length * (double)count, seconds), "", ""],
            chunk.Length * (double)count / seconds);
    }

    private sealed class RepeatedContent(byte[] chunk, int count) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (var i = 0; i < count; i++)
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    /// <summary>Payload through one stream to a server that only parses; the client writes as fast as flow control lets it.</summary>
    private static async Task<string[][]> PayloadRows(int count, DataType dtype, double ceilingBytesPerSecond)
    {
        var request = Batch(0, dtype);
        var bytes = request.ToByteArray();
        var featureBytes = (double)request.Features.Data.Length;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLargeMessageTransport(); // the miner's Kestrel settings
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 64 << 20);
        // The miner's receive path: features into reused buffers, returned once the batch is done.
        var buffers = new FeatureBufferPool(64 << 20, 8);
        builder.Services.AddSingleton<IServiceMethodProvider<PayloadSink>>(new PayloadSinkMethods(buffers));
        await using var app = builder.Build();
        app.MapGrpcService<PayloadSink>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // The miner client's channel settings: wide HTTP/2 windows, more connections rather than queued calls.
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxSendMessageSize = 64 << 20,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, InitialHttp2StreamWindowSize = 16 << 20 },
        });
        var miner = new HardExampleMiner.HardExampleMinerClient(channel);

        async Task<double> Stream(int n)
        {
            using var call = miner.Mine();
            var start = Stopwatch.GetTimestamp();
            var reader = Task.Run(async () =>
            {
                var received = 0;
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    received++;
                }

                return received;
            });
            for (var i = 0; i < n; i++)
            {
                request.BatchId = (ulong)i;
                await call.RequestStream.WriteAsync(request);
            }

            await call.RequestStream.CompleteAsync();
            if (await reader != n)
            {
                throw new InvalidOperationException("responses lost");
            }

            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        await Stream(10); // warm-up
        // CPU time beside wall time: on a shared machine the wall figure moves with the neighbours'
        // load, the CPU spent per batch (client and server together, this process) does not.
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var seconds = await Stream(count);
        process.Refresh();
        var cpuPerBatch = (process.TotalProcessorTime - cpuBefore).TotalSeconds / count;
        var sequence = new System.Buffers.ReadOnlySequence<byte>(bytes);
        var parseSeconds = Measure.MedianSeconds(() => ReceivedBatch.Parse(sequence, buffers).Dispose(), 20);
        await app.StopAsync();
        var perBatch = seconds / count;
        var name = dtype == DataType.Float32 ? "float32" : "float16";
        return
        [
            [$"feature payload, {name} ({featureBytes / 1e6:0.0} MB/batch), GB/s", Gbps(featureBytes, perBatch), Gbps(featureBytes, parseSeconds) + " (parse only)", (parseSeconds / perBatch).ToString("0.00", CultureInfo.InvariantCulture)],
            [$"batches/s, {name}", (1 / perBatch).ToString("0", CultureInfo.InvariantCulture), (1 / parseSeconds).ToString("0", CultureInfo.InvariantCulture) + " (parse only)", ""],
            [$"CPU per batch, client + server, {name}, ms", Measure.Milliseconds(cpuPerBatch), Measure.Milliseconds(parseSeconds) + " (parse only)", (parseSeconds / cpuPerBatch).ToString("0.00", CultureInfo.InvariantCulture)],
            [$"whole messages ({bytes.Length / 1e6:0.0} MB) vs the HTTP/2 upload ceiling, {name}, GB/s", Gbps(bytes.Length, perBatch), Gbps(ceilingBytesPerSecond, 1) + " (ceiling)",
                (bytes.Length / perBatch / ceilingBytesPerSecond).ToString("0.00", CultureInfo.InvariantCulture)],
        ];
    }

    /// <summary>Full mining with the real head: loopback round trips vs the same scoring in-process.</summary>
    private static async Task<string[]> MiningRow(int count)
    {
        var weights = RoiHeadExporter.RandomWeights(Spec, 1);
        var app = Ohem.Service.MinerHost.Build([], b =>
        {
            b.Configuration["Miner:Listen"] = "http://127.0.0.1:0";
            b.Configuration["Miner:MetricsListen"] = "";
            b.Logging.ClearProviders();
        });
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new MinerClient(new MinerClientOptions { Endpoints = [address] });
            var model = RoiHeadExporter.Export(Spec, weights);
            await client.RegisterModelAsync("bench", model);
            await client.PublishWeightsAsync("bench", 1, RoiHeadExporter.Weights(Spec).ToDictionary(w => w.Name, w => (weights[w.Name].ToArray(), w.Shape.Select(d => (long)d).ToArray())));
            await using var session = client.OpenMiningSession();
            var request = Batch(0, DataType.Float32);
            await session.MineAsync(request); // warm-up
            var start = Stopwatch.GetTimestamp();
            var serverMs = 0.0;
            for (var i = 1; i <= count; i++)
            {
                var r = request.Clone();
                r.BatchId = (ulong)i;
                var response = await session.MineAsync(r);
                var t = response.Timings;
                serverMs += t.DecodeMs + t.PoolMs + t.RunMs + t.LossMs + t.SelectMs;
            }

            var loopback = Stopwatch.GetElapsedTime(start).TotalSeconds / count;

            using var store = new WeightsVersionStore(ScoringModel.Load(model));
            store.Install(1, weights.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()));
            var scorer = new RoiScorer(store);
            var batch = new ScoringBatch(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(request.Features.Data.Span).ToArray(), (2, 256, 38, 50),
                [.. request.Images.Select(i => new ImageRoiSet([.. i.Boxes], [.. i.Labels], [.. i.BoxTargets]))]);
            var inProcess = Measure.MedianSeconds(() => scorer.Score(batch), count);
            var outside = loopback - serverMs / 1000 / count;
            return [$"mining round trip, 2 x 2,000 RoIs (s/batch; outside scoring {outside * 1e3:0.0} ms)",
                loopback.ToString("0.000", CultureInfo.InvariantCulture), inProcess.ToString("0.000", CultureInfo.InvariantCulture) + " (scoring in-process)",
                (inProcess / loopback).ToString("0.00", CultureInfo.InvariantCulture)];
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static string Gbps(double bytes, double seconds) => (bytes / seconds / 1e9).ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A Mine endpoint that only parses (the miner's pooled parse) and answers each batch with its id.</summary>
    private sealed class PayloadSink
    {
        public static async Task Mine(IAsyncStreamReader<ReceivedBatch> requests, IServerStreamWriter<MineResponse> responses, ServerCallContext context)
        {
            while (await requests.MoveNext(context.CancellationToken))
            {
                using var batch = requests.Current;
                await responses.WriteAsync(new MineResponse { BatchId = batch.Request.BatchId });
            }
        }
    }

    private sealed class PayloadSinkMethods(FeatureBufferPool buffers) : IServiceMethodProvider<PayloadSink>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<PayloadSink> context) =>
            context.AddDuplexStreamingMethod(ReceivedBatch.MineMethod(buffers), [], (_, requests, responses, call) => PayloadSink.Mine(requests, responses, call));
    }
}
