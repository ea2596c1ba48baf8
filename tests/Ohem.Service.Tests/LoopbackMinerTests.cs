using Google.Protobuf;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Grpc.Core;
using Ohem.Protocol.V1;
using Ohem.Service.Api;
using Ohem.Service.Mining;

namespace Ohem.Service.Tests;

/// <summary>The miner over real HTTP/2 on loopback, through our gRPC client.</summary>
public class LoopbackMinerTests
{
    private static readonly Metadata Token = [new Metadata.Entry("authorization", "Bearer s3cret")];

    private static async Task Register(CallInvoker invoker, string job, Metadata? headers = null)
    {
        var response = await new HardExampleMiner.HardExampleMinerClient(invoker).RegisterModelAsync(new RegisterModelRequest { JobId = job, OnnxModel = ByteString.CopyFrom(TestJobs.Model()) }, new CallOptions(headers));
        Assert.Equal(3u, response.NumClasses);
        Assert.Equal("CPU", response.ExecutionProvider);
    }

    private static async Task<PublishWeightsResponse> Publish(CallInvoker invoker, string job, ulong version, Dictionary<string, float[]> weights, Metadata? headers = null)
    {
        using var call = new HardExampleMiner.HardExampleMinerClient(invoker).PublishWeights(new CallOptions(headers));
        var shapes = Ohem.Onnx.Scoring.ScoringModel.Load(TestJobs.Model());
        foreach (var (name, values) in weights)
        {
            // Two chunks per tensor, the second as float16 for biases: both encodings in one version.
            var half = values.Length / 2;
            var chunk = new TensorChunk { Name = name, Shape = { shapes.Weight(name)!.Shape }, Dtype = DataType.Float32, Data = Bytes(values.AsSpan(0, half)) };
            await call.RequestStream.WriteAsync(new PublishWeightsRequest { JobId = job, Version = version, Chunk = chunk });
            await call.RequestStream.WriteAsync(new PublishWeightsRequest
            {
                Chunk = new TensorChunk { Name = name, Shape = { shapes.Weight(name)!.Shape }, Offset = (ulong)half, Dtype = DataType.Float32, Data = Bytes(values.AsSpan(half)) },
            });
        }

        await call.RequestStream.CompleteAsync();
        return await call;
    }

    private static ByteString Bytes(ReadOnlySpan<float> values) => ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));

    [Fact]
    public async Task Register_publish_and_mine_pinned_versions_over_http2()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        await Register(miner.Invoker, "det");
        var v1 = TestJobs.Weights(1);
        var v2 = TestJobs.Weights(2);
        Assert.Equal([1ul], (await Publish(miner.Invoker, "det", 1, v1)).VersionsHeld);
        Assert.Equal([1ul, 2ul], (await Publish(miner.Invoker, "det", 2, v2)).VersionsHeld);

        // Expected answers: the same batches mined in-process by a registry holding one version each.
        async Task<MineResponse> Expected(MineRequest request, ulong version, Dictionary<string, float[]> weights)
        {
            using var registry = TestJobs.Registry();
            registry.Register("det", TestJobs.Model(), null, false).Weights.Install(version, weights);
            var miner2 = new BatchMiner(registry, Microsoft.Extensions.Options.Options.Create(new MinerOptions()));
            return await miner2.MineAsync(request, new PolicyCache(), CancellationToken.None);
        }

        var requests = new[]
        {
            TestJobs.Request("det", 10, seed: 1),
            TestJobs.Request("det", 11, seed: 2),
            TestJobs.Request("det", 12, seed: 3),
        };
        requests[0].WeightsVersion = 1;
        requests[1].WeightsVersion = 2;
        requests[2].Features.Shape[1] = 7; // a bad batch in the middle of the stream
        var fourth = TestJobs.Request("det", 13, seed: 4); // newest

        using var call = new HardExampleMiner.HardExampleMinerClient(miner.Invoker).Mine();
        foreach (var request in requests.Append(fourth))
        {
            await call.RequestStream.WriteAsync(request); // all four in flight before reading
        }

        await call.RequestStream.CompleteAsync();
        var responses = new List<MineResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            responses.Add(call.ResponseStream.Current);
        }

        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal([10ul, 11ul, 12ul, 13ul], responses.Select(r => r.BatchId));
        Assert.Equal((await Expected(requests[0], 1, v1)).Images.Select(i => i.Indices.ToArray()), responses[0].Images.Select(i => i.Indices.ToArray()));
        Assert.Equal(1ul, responses[0].WeightsVersion);
        Assert.Equal((await Expected(requests[1], 2, v2)).Images.Select(i => i.Indices.ToArray()), responses[1].Images.Select(i => i.Indices.ToArray()));
        Assert.Equal(3, responses[2].Error.Code);
        Assert.Contains("features", responses[2].Error.Message);
        Assert.Equal(2ul, responses[3].WeightsVersion);
        Assert.Null(responses[3].Error);

        var status = await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).GetStatusAsync(new GetStatusRequest());
        Assert.Equal(3ul, status.Jobs.Single().BatchesMined);
        Assert.Equal([1ul, 2ul], status.Jobs.Single().Versions.Select(v => v.Version));
        Assert.Equal("1.32.0", status.OnnxruntimeVersion);

        var metrics = miner.App.Services.GetRequiredService<Metrics.MinerMetrics>();
        Assert.Equal(3, metrics.Batches.WithLabels("det", "ok").Value);
        Assert.Equal(1, metrics.Batches.WithLabels("det", "InvalidArgument").Value);
        // The miner's view of staleness: batch 10 was pinned to version 1 while 2 was held, the others scored with 2.
        Assert.Equal(1, metrics.ScoredVersionsBehind.WithLabels("det").Sum);
        Assert.Contains("ohem_scored_versions_behind_count{job=\"det\"} 3\n", metrics.Render());
    }

    /// <summary>
    /// A unary request above Kestrel's default 30 MB body limit and below Miner:MaxMessageBytes
    /// (a big RoI head's ONNX model) reaches the handler: here 40 MB that are no model get
    /// INVALID_ARGUMENT, not UNKNOWN.
    /// </summary>
    [Fact]
    public async Task A_unary_request_above_kestrels_body_limit_and_below_ours_reaches_the_handler()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await new HardExampleMiner.HardExampleMinerClient(miner.Channel)
            .RegisterModelAsync(new RegisterModelRequest { JobId = "big", OnnxModel = ByteString.CopyFrom(new byte[40 << 20]) }));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    /// <summary>
    /// Hostile input (issue 14, item 7): streaming calls rejected before their request stream is
    /// read (PublishWeights with a wrong token, or naming an unknown job), back to back on one
    /// connection with GetStatus calls between them. Each gets its own status; Kestrel never
    /// refuses a stream as one too many unfinished (RESOURCE_EXHAUSTED, ENHANCE_YOUR_CALM).
    /// </summary>
    [Fact]
    public async Task Early_rejected_streams_back_to_back_each_get_their_own_status()
    {
        await using var miner = await LoopbackMiner.StartAsync(("Miner:WriteToken", "s3cret"));
        var client = new HardExampleMiner.HardExampleMinerClient(miner.Channel);
        var chunk = new TensorChunk { Name = "w", Shape = { 4 }, Dtype = DataType.Float32, Data = ByteString.CopyFrom(new byte[16]) };
        var codes = new List<StatusCode>();
        for (var i = 0; i < 300; i++)
        {
            var wrongToken = i % 2 == 0;
            using var call = client.PublishWeights(new CallOptions(wrongToken ? [new Metadata.Entry("authorization", "Bearer nope")] : Token));
            try
            {
                await call.RequestStream.WriteAsync(new PublishWeightsRequest { JobId = "ghost", Version = 1, Chunk = chunk });
                await call.RequestStream.WriteAsync(new PublishWeightsRequest { Chunk = chunk });
                await call.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // The call is over already: its status is the response's.
            }

            codes.Add((await Assert.ThrowsAsync<RpcException>(async () => await call)).StatusCode);
            Assert.Empty((await client.GetStatusAsync(new GetStatusRequest())).Jobs);
        }

        Assert.Equal(Enumerable.Range(0, 300).Select(i => i % 2 == 0 ? StatusCode.Unauthenticated : StatusCode.NotFound), codes);
    }

    [Fact]
    public async Task Unknown_jobs_stale_versions_and_missing_tokens_get_their_statuses()
    {
        await using var miner = await LoopbackMiner.StartAsync(("Miner:WriteToken", "s3cret"));
        var noToken = await Assert.ThrowsAsync<RpcException>(async () => await Register(miner.Invoker, "det"));
        Assert.Equal(StatusCode.Unauthenticated, noToken.StatusCode);
        var wrongToken = await Assert.ThrowsAsync<RpcException>(async () => await Register(miner.Invoker, "det", [new Metadata.Entry("authorization", "Bearer nope")]));
        Assert.Equal(StatusCode.Unauthenticated, wrongToken.StatusCode);

        await Register(miner.Invoker, "det", Token);
        await Publish(miner.Invoker, "det", 5, TestJobs.Weights(5), Token);
        var stale = await Assert.ThrowsAsync<RpcException>(() => Publish(miner.Invoker, "det", 4, TestJobs.Weights(4), Token));
        Assert.Equal(StatusCode.FailedPrecondition, stale.StatusCode);
        Assert.Contains("not above the newest held, 5", stale.Status.Detail);

        var missing = await Assert.ThrowsAsync<RpcException>(async () =>
            await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).GetStatusAsync(new GetStatusRequest { JobId = "ghost" }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("ghost", missing.Status.Detail);

        var badModel = await Assert.ThrowsAsync<RpcException>(async () => await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).RegisterModelAsync(new RegisterModelRequest { JobId = "bad", OnnxModel = ByteString.CopyFrom(1, 2, 3) }, new CallOptions(Token)));
        Assert.Equal(StatusCode.InvalidArgument, badModel.StatusCode);

        await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).DeleteJobAsync(new DeleteJobRequest { JobId = "det" }, new CallOptions(Token));
        var deleted = await Assert.ThrowsAsync<RpcException>(async () =>
            await new HardExampleMiner.HardExampleMinerClient(miner.Invoker).DeleteJobAsync(new DeleteJobRequest { JobId = "det" }, new CallOptions(Token)));
        Assert.Equal(StatusCode.NotFound, deleted.StatusCode);
    }

    [Fact]
    public async Task Health_answers_serving_and_not_found_for_unknown_services()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        foreach (var service in new[] { "", "ohem.v1.HardExampleMiner" })
        {
            var health = await new Health.HealthClient(miner.Invoker).CheckAsync(new HealthCheckRequest { Service = service });
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        }

        var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Health.HealthClient(miner.Invoker).CheckAsync(new HealthCheckRequest { Service = "nope" }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Health_watch_streams_the_current_status()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        foreach (var (service, expected) in new[]
        {
            ("ohem.v1.HardExampleMiner", HealthCheckResponse.Types.ServingStatus.Serving),
            ("nope", HealthCheckResponse.Types.ServingStatus.ServiceUnknown),
        })
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var watch = new Health.HealthClient(miner.Invoker).Watch(new HealthCheckRequest { Service = service }, new CallOptions(cancellationToken: cancel.Token));
            Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
            Assert.Equal(expected, watch.ResponseStream.Current.Status);
        }
    }
}
