using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>Many calls at once on one channel: each gets its own answers (HTTP/2 streams multiplexed, and more connections beyond Kestrel's 100 streams each).</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Hundreds_of_concurrent_calls_on_one_channel_each_get_their_own_answer()
    {
        await using var server = await TestServer.StartAsync(TestServiceImpl.Definition());
        using var channel = server.CreateChannel();
        var invoker = channel.CreateCallInvoker();
        var options = new CallOptions(deadline: Bounded.Deadline);

        var unary = Enumerable.Range(0, 500).Select(async i =>
        {
            var response = await invoker.AsyncUnaryCall(TestMethods.Unary, null, options, new Payload { Id = i, Text = "u" + i, DelayMs = i % 7 });
            return response.Id == i + 1 && response.Text == "echo:u" + i;
        }).ToArray();

        var duplex = Enumerable.Range(0, 30).Select(async s =>
        {
            using var call = invoker.AsyncDuplexStreamingCall(TestMethods.Duplex, null, options);
            var reading = Task.Run(async () =>
            {
                var ids = new List<int>();
                while (await call.ResponseStream.MoveNext(default))
                {
                    ids.Add(call.ResponseStream.Current.Id);
                }

                return ids;
            });
            for (var m = 0; m < 20; m++)
            {
                await call.RequestStream.WriteAsync(new Payload { Id = s * 1000 + m });
            }

            await call.RequestStream.CompleteAsync();
            return (await reading).SequenceEqual(Enumerable.Range(0, 20).Select(m => s * 1000 + m + 1));
        }).ToArray();

        Assert.All(await Task.WhenAll(unary).Within(), Assert.True);
        Assert.All(await Task.WhenAll(duplex).Within(), Assert.True);
    }
}
