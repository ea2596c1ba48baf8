using Google.Protobuf;
using Ohem.Grpc;
using Ohem.Protocol.Methods;
using Ohem.Protocol.V1;

namespace Ohem.Service.Tests;

public class MineStreamTests
{
    [Fact]
    public async Task Mine_stream_answers_headers_as_soon_as_the_request_arrives()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        await miner.Invoker.AsyncUnaryCall(MinerMethods.RegisterModel, null, default, new RegisterModelRequest { JobId = "det", OnnxModel = ByteString.CopyFrom(TestJobs.Model()) });
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Jobs.JobRegistry>(miner.App.Services).Get("det").Weights.Install(1, TestJobs.Weights(1));
        using var call = miner.Invoker.AsyncDuplexStreamingCall(MinerMethods.Mine, null, default);
        await call.RequestStream.WriteAsync(TestJobs.Request("det", 1, seed: 1));
        await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1ul, call.ResponseStream.Current.BatchId);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }
}
