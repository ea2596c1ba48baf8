using FsCheck;
using FsCheck.Fluent;
using Grpc.Net.Client;
using Ohem.Testing;

namespace Ohem.Client.Tests;

/// <summary>How streams are spread over joined replicas, and which endpoints a trainer may give.</summary>
public class ReplicaSetProperties
{
    /// <summary>n replicas (nothing listens: no call is made), each joined as soon as it appears.</summary>
    private static ReplicaSet Joined(int n) => new(
        new MinerClientOptions { Endpoints = [.. Enumerable.Range(0, n).Select(i => $"http://127.0.0.1:{1000 + i}/")] },
        address => GrpcChannel.ForAddress(address),
        replica =>
        {
            replica.Joined = true;
            return Task.CompletedTask;
        });

    [Fact]
    public void Consecutive_streams_visit_every_joined_replica_once_and_never_the_one_to_avoid_while_there_is_another()
    {
        Properties.Check(Prop.ForAll(Gen.Choose(1, 6).ToArbitrary(), Gen.Choose(0, 5).ToArbitrary(), (n, avoided) =>
        {
            using var replicas = Joined(n);
            SpinWait.SpinUntil(() => replicas.Current.All(r => r.Joined)); // joins run apart; until then streams go to those joined
            var picks = Enumerable.Range(0, n).Select(_ => replicas.NextForStreamAsync(null, CancellationToken.None).GetAwaiter().GetResult().Address).ToList();
            var avoid = replicas.Current[avoided % n];
            var away = Enumerable.Range(0, 2 * n).Select(_ => replicas.NextForStreamAsync(avoid, CancellationToken.None).GetAwaiter().GetResult()).ToList();
            return picks.Order().SequenceEqual(replicas.Current.Select(r => r.Address).Order())
                && (n == 1 ? away.All(r => r == avoid) : !away.Contains(avoid));
        }), maxTest: 100);
    }

    [Fact]
    public void A_dns_endpoint_is_a_name_and_a_port_in_range()
    {
        var names = Gen.Elements("miner", "ohem-miner-headless.ml.svc.cluster.local", "a.b", "localhost");
        Properties.Check(Prop.ForAll(names.ToArbitrary(), Gen.Choose(-5, 70_000).ToArbitrary(), (name, port) =>
        {
            var endpoint = $"dns:///{name}:{port}";
            var error = Record.Exception(() => MinerEndpoint.Validate(endpoint, "--miner"));
            return port is >= 1 and <= 65535
                ? error is null
                : error is ArgumentException { ParamName: "--miner" } e && e.Message.Contains(endpoint, StringComparison.Ordinal);
        }));
    }

    [Theory]
    [InlineData("http://miner-0:50051", true)]
    [InlineData("https://miner-0:50051", true)]
    [InlineData("dns:///ohem-miner-headless.ml.svc.cluster.local:50051", true)]
    [InlineData("dns://ohem-miner-headless:50051", false)] // two slashes: a DNS server, not a name
    [InlineData("dns:///ohem-miner-headless", false)] // no port
    [InlineData("dns:///:50051", false)]
    [InlineData("ohem-miner:50051", false)]
    [InlineData("grpc://miner:50051", false)]
    [InlineData("miner", false)]
    public void Endpoints_are_one_replica_or_a_name_and_a_bad_one_names_the_field(string endpoint, bool valid)
    {
        var error = Record.Exception(() => MinerEndpoint.Validate(endpoint, "--miner"));
        if (valid)
        {
            Assert.Null(error);
            return;
        }

        var argument = Assert.IsType<ArgumentException>(error);
        Assert.StartsWith($"--miner '{endpoint}' ", argument.Message, StringComparison.Ordinal);
        Assert.Contains(MinerEndpoint.Forms, argument.Message, StringComparison.Ordinal);
    }
}
