using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Ohem.Protocol.V1;
using Ohem.Service.Metrics;

namespace Ohem.Service.Tests;

/// <summary>
/// Hostile input (issue 14, item 8): a client that cancels its Mine stream is a cancellation,
/// not a handler failure: nothing is logged at Error or above.
/// </summary>
public sealed class CancellationLoggingTests
{
    [Fact]
    public async Task A_cancelled_mine_stream_logs_no_error()
    {
        var logged = new ConcurrentQueue<(LogLevel Level, string Category, string Message)>();
        await using var miner = await LoopbackMiner.StartAsync(b => b.Logging.AddProvider(new Recording(logged)));
        var metrics = miner.App.Services.GetRequiredService<MinerMetrics>();
        for (var i = 0; i < 5; i++)
        {
            using var cancel = new CancellationTokenSource();
            using var call = new HardExampleMiner.HardExampleMinerClient(miner.Channel).Mine(cancellationToken: cancel.Token);
            await call.RequestStream.WriteAsync(TestJobs.Request("ghost", (ulong)i, seed: i));
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None)); // the stream is open at the miner
            await cancel.CancelAsync();
        }

        // Every handler has ended, and Grpc.AspNetCore has called each call a cancellation (at Information).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (metrics.OpenStreams.Value > 0 || logged.Count(l => l.Level == LogLevel.Information && l.Message == "Service method 'Mine' canceled.") < 5)
        {
            Assert.True(DateTime.UtcNow < deadline, "the cancelled streams' handlers ended and were logged as cancelled within 30 s");
            await Task.Delay(10);
        }

        Assert.DoesNotContain(logged, l => l.Level >= LogLevel.Error);
    }

    private sealed class Recording(ConcurrentQueue<(LogLevel, string, string)> logged) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, logged);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(LogLevel, string, string)> logged) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logged.Enqueue((logLevel, category, formatter(state, exception)));
        }
    }
}
