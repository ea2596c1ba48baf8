using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Ohem.Client;

/// <summary>
/// The client's one resilience pipeline, composed at construction (Polly v8): retry with
/// jittered exponential back-off on transient statuses around a circuit breaker that counts every
/// attempt; once open it fails fast (BrokenCircuitException, which the retry lets through), and
/// the trainer mines locally until the miners recover.
/// </summary>
internal static class MinerResilience
{
    public static ResiliencePipeline Build(MinerClientOptions options) => Build(options, TransientFailures.IsTransient);

    /// <summary>
    /// For (re)opening Mine streams: any failure short of the session's own closing is worth
    /// another try (a write on a stream that never connected reports CANCELLED, not UNAVAILABLE).
    /// </summary>
    public static ResiliencePipeline BuildForStreams(MinerClientOptions options) =>
        Build(options, e => e is not OperationCanceledException and not Polly.CircuitBreaker.BrokenCircuitException);

    private static ResiliencePipeline Build(MinerClientOptions options, Func<Exception, bool> transient) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle(transient),
            MaxRetryAttempts = options.MaxRetries,
            Delay = options.RetryBaseDelay,
            MaxDelay = options.RetryMaxDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle(transient),
            FailureRatio = options.CircuitFailureRatio,
            MinimumThroughput = options.CircuitMinimumThroughput,
            SamplingDuration = options.CircuitSamplingDuration,
            BreakDuration = options.CircuitBreakDuration,
        })
        .Build();
}
