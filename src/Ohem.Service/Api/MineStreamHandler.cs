using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Grpc.Core;
using Ohem.Protocol.V1;
using Ohem.Service.Metrics;
using Ohem.Service.Mining;

namespace Ohem.Service.Api;

/// <summary>
/// Serves one Mine stream. Requests are read ahead and scored concurrently, up to
/// MaxBatchesPerStream waiting to be answered on this stream and MaxBatchesInFlight across all
/// streams; beyond either bound the stream stops reading, so HTTP/2 flow control slows the client
/// instead of the server buffering without limit. Responses go out in request order, and the
/// selection runs in that order too. On shutdown the stream stops reading, answers what it has
/// read, and ends with UNAVAILABLE so the client resends the rest elsewhere. A batch's pooled
/// feature buffer goes back as soon as it is scored.
/// </summary>
public sealed class MineStreamHandler(BatchMiner miner, InFlightLimit limit, MinerMetrics metrics, IOptions<MinerOptions> options, IHostApplicationLifetime lifetime)
{
    public async Task Handle(IAsyncStreamReader<ReceivedBatch> requests, IServerStreamWriter<MineResponse> responses, ServerCallContext context)
    {
        // Headers at once: a client knows the stream reached a miner before it sends any batch.
        await context.WriteResponseHeadersAsync(new Metadata()).ConfigureAwait(false);
        metrics.OpenStreams.Inc();
        var pending = Channel.CreateBounded<Task<ScoredBatch>>(new BoundedChannelOptions(options.Value.MaxBatchesPerStream) { SingleReader = true, SingleWriter = true });
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var reading = ReadAsync(requests, pending.Writer, stopReading.Token, context.CancellationToken);
        try
        {
            var policies = new PolicyCache();
            await foreach (var scoring in pending.Reader.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                var scored = await scoring.ConfigureAwait(false);
                var response = BatchMiner.Finish(scored, policies);
                metrics.Record(scored.Job?.Id ?? "unknown", response, scored.Job?.Weights.Newest); // never a client-chosen label for unknown jobs
                await responses.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
            }

            await reading.ConfigureAwait(false);
        }
        finally
        {
            stopReading.Cancel();
            metrics.OpenStreams.Dec();
        }

        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the miner is shutting down; resend unanswered batches"));
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<ReceivedBatch> requests, ChannelWriter<Task<ScoredBatch>> pending, CancellationToken stopReading, CancellationToken call)
    {
        try
        {
            while (await requests.MoveNext(stopReading).ConfigureAwait(false))
            {
                var batch = requests.Current;
                try
                {
                    await limit.WaitAsync(call).ConfigureAwait(false);
                }
                catch
                {
                    batch.Dispose();
                    throw;
                }

                metrics.BatchesInFlight.Inc();
                await pending.WriteAsync(ScoreAsync(batch, call), call).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopReading.IsCancellationRequested && !call.IsCancellationRequested)
        {
            // Shutting down: answer what was read.
        }
        finally
        {
            pending.TryComplete();
        }
    }

    private async Task<ScoredBatch> ScoreAsync(ReceivedBatch batch, CancellationToken call)
    {
        try
        {
            return await miner.ScoreAsync(batch.Request, call).ConfigureAwait(false);
        }
        finally
        {
            batch.Dispose(); // scoring is over (Task.Run never leaves it running): the features are no longer read
            metrics.BatchesInFlight.Dec();
            limit.Release();
        }
    }
}
