using Ohem.Protocol.Methods;
using Ohem.Grpc;
using Ohem.Onnx;
using Ohem.Protocol.V1;
using Ohem.Service.Jobs;
using Ohem.Service.Metrics;
using Ohem.Service.Mining;
using Ohem.Service.Publishing;

namespace Ohem.Service.Api;

/// <summary>The HardExampleMiner API: each method a thin handler over the jobs and the miner.</summary>
public sealed class MinerService(
    JobRegistry jobs, MineStreamHandler mine, FeatureBufferPool featureBuffers, WriteAuthorization authorization, InFlightLimit limit, MinerMetrics metrics)
{
    public ServerServiceDefinition Definition() => ServerServiceDefinition.CreateBuilder()
        .AddMethod(ReceivedBatch.MineMethod(featureBuffers), mine.Handle)
        .AddMethod(MinerMethods.RegisterModel, (request, context) => Call(() => RegisterModel(request, context)))
        .AddMethod(MinerMethods.PublishWeights, (requests, context) => Call(() => PublishWeights(requests, context)))
        .AddMethod(MinerMethods.GetStatus, (request, context) => Call(() => Task.FromResult(GetStatus(request))))
        .AddMethod(MinerMethods.DeleteJob, (request, context) => Call(() => DeleteJob(request, context)))
        .Build();

    private async Task<RegisterModelResponse> RegisterModel(RegisterModelRequest request, ServerCallContext context)
    {
        authorization.Check(context);
        var job = await Task.Run(() => jobs.Register(request.JobId, request.OnnxModel.ToByteArray(),
            request.NumClasses == 0 ? null : (int)request.NumClasses, request.Replace), context.CancellationToken).ConfigureAwait(false);
        var response = new RegisterModelResponse { JobId = job.Id, NumClasses = (uint)job.Model.NumClasses, ExecutionProvider = job.Model.ExecutionProvider };
        response.Weights.AddRange(job.Model.Weights.Select(w => new WeightShape { Name = w.Name, Shape = { w.Shape } }));
        UpdateGauges(job);
        return response;
    }

    private async Task<PublishWeightsResponse> PublishWeights(IAsyncStreamReader<PublishWeightsRequest> requests, ServerCallContext context)
    {
        authorization.Check(context);
        if (!await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            throw new ArgumentException("the stream is empty; the first message names job_id and version.", nameof(requests));
        }

        var first = requests.Current;
        var job = jobs.Get(first.JobId);
        var assembler = new WeightsAssembler(job.Model);
        var message = first;
        var index = 0;
        do
        {
            if ((message.JobId.Length > 0 && message.JobId != first.JobId) || (message.Version != 0 && message.Version != first.Version))
            {
                throw new ArgumentException($"message {index} names job \"{message.JobId}\" version {message.Version}; the stream began with job \"{first.JobId}\" version {first.Version}.", nameof(requests));
            }

            if (message.Chunk is { } chunk)
            {
                assembler.Add(chunk);
            }

            index++;
        }
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false) && (message = requests.Current) is not null);

        var weights = assembler.Complete();
        await Task.Run(() => job.Weights.Install(first.Version, weights), context.CancellationToken).ConfigureAwait(false);
        UpdateGauges(job);
        var response = new PublishWeightsResponse { JobId = job.Id, Version = first.Version, Bytes = (ulong)job.Weights.Held[^1].Bytes };
        response.VersionsHeld.AddRange(job.Weights.Held.Select(h => h.Version));
        return response;
    }

    private GetStatusResponse GetStatus(GetStatusRequest request)
    {
        var response = new GetStatusResponse
        {
            ServerVersion = typeof(MinerService).Assembly.GetName().Version?.ToString() ?? "",
            OnnxruntimeVersion = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(),
            Load = new ServerLoad { BatchesInFlight = (uint)limit.InUse, MaxBatchesInFlight = (uint)limit.Max, OpenStreams = (uint)metrics.OpenStreams.Value() },
        };
        var selected = request.JobId.Length > 0 ? [jobs.Get(request.JobId)] : jobs.Jobs;
        foreach (var job in selected)
        {
            var status = new JobStatus { JobId = job.Id, NumClasses = (uint)job.Model.NumClasses, BatchesMined = (ulong)job.BatchesMined };
            status.Versions.AddRange(job.Weights.Held.Select(h => new HeldVersion { Version = h.Version, Bytes = (ulong)h.Bytes }));
            response.Jobs.Add(status);
        }

        return response;
    }

    private Task<DeleteJobResponse> DeleteJob(DeleteJobRequest request, ServerCallContext context)
    {
        authorization.Check(context);
        jobs.Delete(request.JobId);
        foreach (var family in new[] { metrics.WeightsVersion, metrics.WeightsVersionsHeld, metrics.WeightsBytes })
        {
            family.Remove(request.JobId);
        }

        return Task.FromResult(new DeleteJobResponse { JobId = request.JobId });
    }

    private void UpdateGauges(Job job)
    {
        metrics.WeightsVersion.Set(job.Weights.Newest ?? 0, job.Id);
        metrics.WeightsVersionsHeld.Set(job.Weights.Held.Count, job.Id);
        metrics.WeightsBytes.Set(job.Weights.BytesHeld, job.Id);
    }

    /// <summary>Known failures become their status (one table: <see cref="MinerErrors"/>), with the field named.</summary>
    private static async Task<T> Call<T>(Func<Task<T>> handler)
    {
        try
        {
            return await handler().ConfigureAwait(false);
        }
        catch (Exception e) when (MinerErrors.CodeOf(e) is { } code)
        {
            throw new RpcException(new Status(code, MinerErrors.Message(e)));
        }
    }
}
