using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Ohem.Onnx.Scoring;

namespace Ohem.Service.Jobs;

/// <summary>The jobs one miner serves, by id.</summary>
public sealed partial class JobRegistry(IOptions<MinerOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly Lock _register = new();

    public IReadOnlyCollection<Job> Jobs => [.. _jobs.Values.OrderBy(j => j.Id, StringComparer.Ordinal)];

    /// <summary>
    /// Registers a job's scoring model (replacing an existing registration only when asked).
    /// </summary>
    /// <exception cref="ArgumentException">A malformed job id.</exception>
    /// <exception cref="InvalidModelException">The model does not meet the scoring contract.</exception>
    /// <exception cref="JobExistsException">The job exists and <paramref name="replace"/> is false.</exception>
    public Job Register(string jobId, byte[] onnx, int? numClasses, bool replace)
    {
        CheckId(jobId);
        var model = ScoringModel.Load(onnx, numClasses, options.Value.Onnx);
        var job = new Job(jobId, model, new WeightsVersionStore(model, options.Value.Weights, options.Value.Onnx));
        Job? previous;
        lock (_register)
        {
            if (_jobs.TryGetValue(jobId, out previous) && !replace)
            {
                job.Dispose();
                throw new JobExistsException($"job \"{jobId}\" is already registered; set replace to register it again.");
            }

            _jobs[jobId] = job;
        }

        previous?.Dispose();
        return job;
    }

    /// <exception cref="JobNotFoundException">No such job.</exception>
    public Job Get(string jobId) =>
        _jobs.TryGetValue(jobId, out var job)
            ? job
            : throw new JobNotFoundException($"job \"{jobId}\" is not registered{(_jobs.IsEmpty ? " (no jobs are)" : "")}.");

    /// <exception cref="JobNotFoundException">No such job.</exception>
    public void Delete(string jobId)
    {
        if (!_jobs.TryRemove(jobId, out var job))
        {
            throw new JobNotFoundException($"job \"{jobId}\" is not registered.");
        }

        job.Dispose();
    }

    public void Dispose()
    {
        foreach (var job in _jobs.Values)
        {
            job.Dispose();
        }

        _jobs.Clear();
    }

    private static void CheckId(string jobId)
    {
        if (!JobIdPattern().IsMatch(jobId ?? ""))
        {
            throw new ArgumentException($"job_id \"{jobId}\" is not valid; expected 1 to 128 letters, digits, '.', '_' or '-'.", nameof(jobId));
        }
    }

    // \z, not $: $ also matches before a final newline, which let "ok\n" through.
    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,128}\z")]
    private static partial Regex JobIdPattern();
}

/// <summary>No job with that id.</summary>
public sealed class JobNotFoundException(string message) : Exception(message);

/// <summary>The job is registered already.</summary>
public sealed class JobExistsException(string message) : Exception(message);
