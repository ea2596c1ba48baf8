using Grpc.Core;
using Ohem.Onnx;
using Ohem.Protocol.V1;
using Ohem.Service.Jobs;
using Ohem.Service.Metrics;
using Ohem.Service.Publishing;

namespace Ohem.Service.Api;

/// <summary>
/// The HardExampleMiner API: the generated service base, each method a thin handler over the
/// jobs and the miner. Authorization, the mapping of our exceptions to statuses and per-call
/// metrics are interceptors (<see cref="WriteAuthorizationInterceptor"/>,
/// <see cref="MinerErrorInterceptor"/>, <see cref="CallMetricsInterceptor"/>). Bound by
/// <see cref="MinerServiceBinder"/>, which gives Mine the pooled request parser.
/// </summary>
[BindServiceMethod(typeof(MinerServiceBinder), nameof(MinerServiceBinder.BindService))]
public sealed class MinerService(JobRegistry jobs, MineStreamHandler mine, InFlightLimit limit, MinerMetrics metrics) : HardExampleMiner.HardExampleMinerBase
{
    /// <summary>Mine, with requests parsed into pooled feature buffers (bound by <see cref="MineMethodProvider"/>).</summary>
    public Task Mine(IAsyncStreamReader<ReceivedBatch> requestStream, IServerStreamWriter<MineResponse> responseStream, ServerCallContext context) =>
        mine.Handle(requestStream, responseStream, context);

    public override async Task<RegisterModelResponse> RegisterModel(RegisterModelRequest request, ServerCallContext context)
    {
        var job = await Task.Run(() => jobs.Register(request.JobId, request.OnnxModel.ToByteArray(),
            request.NumClasses == 0 ? null : (int)request.NumClasses, request.Replace), context.CancellationToken).ConfigureAwait(false);
        var response = new RegisterModelResponse { JobId = job.Id, NumClasses = (uint)job.Model.NumClasses, ExecutionProvider = job.Model.ExecutionProvider };
        response.Weights.AddRange(job.Model.Weights.Select(w => new WeightShape { Name = w.Name, Shape = { w.Shape } }));
        UpdateGauges(job);
        return response;
    }

    public override async Task<PublishWeightsResponse> PublishWeights(IAsyncStreamReader<PublishWeightsRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            throw new ArgumentException("the stream is empty; the first message names job_id and version.", nameof(requestStream));
        }

        var first = requestStream.Current;
        var job = jobs.Get(first.JobId);
        var assembler = new WeightsAssembler(job.Model);
        var message = first;
        var index = 0;
        do
        {
            if ((message.JobId.Length > 0 && message.JobId != first.JobId) || (message.Version != 0 && message.Version != first.Version))
            {
                throw new ArgumentException($"message {index} names job \"{message.JobId}\" version {message.Version}; the stream began with job \"{first.JobId}\" version {first.Version}.", nameof(requestStream));
            }

            if (message.Chunk is { } chunk)
            {
                assembler.Add(chunk);
            }

            index++;
        }
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false) && (message = requestStream.Current) is not null);

        var weights = assembler.Complete();
        await Task.Run(() => job.Weights.Install(first.Version, weights), context.CancellationToken).ConfigureAwait(false);
        UpdateGauges(job);
        var response = new PublishWeightsResponse { JobId = job.Id, Version = first.Version, Bytes = (ulong)job.Weights.Held[^1].Bytes };
        response.VersionsHeld.AddRange(job.Weights.Held.Select(h => h.Version));
        return response;
    }

    public override Task<GetStatusResponse> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        var response = new GetStatusResponse
        {
            ServerVersion = typeof(MinerService).Assembly.GetName().Version?.ToString() ?? "",
            OnnxruntimeVersion = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(),
            Load = new ServerLoad { BatchesInFlight = (uint)limit.InUse, MaxBatchesInFlight = (uint)limit.Max, OpenStreams = (uint)metrics.OpenStreams.Value },
        };
        var selected = request.JobId.Length > 0 ? [jobs.Get(request.JobId)] : jobs.Jobs;
        foreach (var job in selected)
        {
            var status = new JobStatus { JobId = job.Id, NumClasses = (uint)job.Model.NumClasses, BatchesMined = (ulong)job.BatchesMined };
            status.Versions.AddRange(job.Weights.Held.Select(h => new HeldVersion { Version = h.Version, Bytes = (ulong)h.Bytes }));
            response.Jobs.Add(status);
        }

        return Task.FromResult(response);
    }

    public override Task<DeleteJobResponse> DeleteJob(DeleteJobRequest request, ServerCallContext context)
    {
        jobs.Delete(request.JobId);
        foreach (var family in new[] { metrics.WeightsVersion, metrics.WeightsVersionsHeld, metrics.WeightsBytes })
        {
            family.RemoveLabelled(request.JobId);
        }

        return Task.FromResult(new DeleteJobResponse { JobId = request.JobId });
    }

    private void UpdateGauges(Job job)
    {
        metrics.WeightsVersion.WithLabels(job.Id).Set(job.Weights.Newest ?? 0);
        metrics.WeightsVersionsHeld.WithLabels(job.Id).Set(job.Weights.Held.Count);
        metrics.WeightsBytes.WithLabels(job.Id).Set(job.Weights.BytesHeld);
    }
}
