using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Ohem.Protocol.V1;
using Ohem.Service.Transport;

namespace Ohem.Service.Tests;

/// <summary>The miner's Kestrel with <see cref="LargeMessageTransportExtensions.UseLargeMessageTransport"/>: it reads through the big-block pool.</summary>
public sealed class LargeMessageTransportTests
{
    [Fact]
    public async Task The_miner_reads_through_the_big_blocks()
    {
        await using var miner = await LoopbackMiner.StartAsync();
        await new HardExampleMiner.HardExampleMinerClient(miner.Channel).GetStatusAsync(new GetStatusRequest());
        var factory = Assert.IsType<LargeBlockMemoryPoolFactory>(miner.App.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
        Assert.True(factory.Created >= 1, "Kestrel never asked the big-block factory for a pool");
    }

    [Fact]
    public void Bad_settings_name_the_parameter()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        Assert.Equal("blockSize", Assert.Throws<ArgumentOutOfRangeException>(() => builder.WebHost.UseLargeMessageTransport(blockSize: 1024)).ParamName);
        Assert.Equal("maxIdleBlocks", Assert.Throws<ArgumentOutOfRangeException>(() => builder.WebHost.UseLargeMessageTransport(maxIdleBlocks: -1)).ParamName);
    }
}
