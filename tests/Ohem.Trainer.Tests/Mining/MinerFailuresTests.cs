using Ohem.Client;
using Grpc.Core;
using Ohem.Trainer.Mining;
using Polly.CircuitBreaker;

namespace Ohem.Trainer.Tests.Mining;

public sealed class MinerFailuresTests
{
    public static TheoryData<string, Exception, bool> Cases() => new()
    {
        { "client gave up", new MinerUnavailableException("no miner answered", new HttpRequestException("refused")), true },
        { "open circuit", new BrokenCircuitException("open"), true },
        { "connection refused", new HttpRequestException("refused"), true },
        { "broken pipe", new IOException("reset"), true },
        { "UNAVAILABLE", new RpcException(new Status(StatusCode.Unavailable, "shutting down")), true },
        { "RESOURCE_EXHAUSTED", new RpcException(new Status(StatusCode.ResourceExhausted, "busy")), true },
        { "DEADLINE_EXCEEDED", new RpcException(new Status(StatusCode.DeadlineExceeded, "slow")), true },
        { "job lost", new MinerBatchException(3, StatusCode.NotFound, "unknown job"), true },
        { "version not held", new MinerBatchException(3, StatusCode.FailedPrecondition, "version 9 not held"), true },
        { "all replicas down", new AggregateException(new HttpRequestException("a"), new RpcException(new Status(StatusCode.Unavailable, "b"))), true },
        { "bad request (batch)", new MinerBatchException(3, StatusCode.InvalidArgument, "features"), false },
        { "bad request (call)", new RpcException(new Status(StatusCode.InvalidArgument, "onnx_model")), false },
        { "wrong token", new RpcException(new Status(StatusCode.Unauthenticated, "token")), false },
        { "one replica rejects the request", new AggregateException(new HttpRequestException("a"), new RpcException(new Status(StatusCode.InvalidArgument, "b"))), false },
        { "protocol violation", new InvalidDataException("index 9 of 3"), false },
        { "bug", new ArgumentException("x"), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Unavailable_means_the_miners_state_not_our_request(string what, Exception e, bool unavailable)
    {
        Assert.True(MinerFailures.IsUnavailable(e) == unavailable, what);
    }

    [Fact]
    public void Every_status_the_client_retries_is_one_the_trainer_mines_around_on_a_call_and_in_a_batch()
    {
        foreach (var code in Enum.GetValues<StatusCode>().Where(TransientFailures.IsTransient))
        {
            Assert.True(MinerFailures.IsUnavailable(new RpcException(new Status(code, "x"))), code.ToString());
            Assert.True(MinerFailures.IsUnavailable(new MinerBatchException(1, code, "x")), code.ToString());
        }

        Assert.True(MinerFailures.IsUnavailable(new HttpRequestException("refused")) && TransientFailures.IsTransient(new HttpRequestException("refused")));
    }

    [Fact]
    public void A_batch_error_names_its_code_and_the_miners_message()
    {
        var e = new MinerBatchException(42, StatusCode.InvalidArgument, "images[1].boxes has 7 values");
        Assert.Contains("42", e.Message, StringComparison.Ordinal);
        Assert.Contains("InvalidArgument (3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("images[1].boxes has 7 values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Descriptions_are_one_line_and_reach_the_cause()
    {
        var e = new MinerUnavailableException("no miner answered", new HttpRequestException("Connection refused\n(127.0.0.1:1)"));
        Assert.Equal("Connection refused (127.0.0.1:1)", MinerFailures.Describe(e));
        Assert.True(MinerFailures.Describe(new IOException(new string('x', 1000))).Length <= 300);
    }
}
