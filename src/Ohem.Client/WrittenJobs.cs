using Ohem.Protocol.V1;

namespace Ohem.Client;

/// <summary>
/// What this client wrote to its replicas, job by job, as the messages sent: the registration and
/// the newest weights version. A replica that joins later (a new pod behind the name) is sent the
/// same before it mines. Only touched under the client's write lock.
/// </summary>
internal sealed class WrittenJobs
{
    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);

    public IReadOnlyList<Job> All => [.. _jobs.Values];

    /// <summary>
    /// Remembers the registration. Once the job was registered with replace, a replica that joins
    /// later is too: whatever it holds under that id was not put there by this run.
    /// </summary>
    public void Registered(RegisterModelRequest request)
    {
        var previous = _jobs.GetValueOrDefault(request.JobId);
        var registration = request.Clone();
        registration.Replace |= previous?.Registration?.Replace ?? false;
        _jobs[request.JobId] = new Job(registration, previous?.Version ?? 0, previous?.Weights ?? []);
    }

    /// <summary>Remembers a weights version, when it is the job's newest.</summary>
    public void Published(string jobId, ulong version, IReadOnlyList<PublishWeightsRequest> messages)
    {
        var previous = _jobs.GetValueOrDefault(jobId);
        if (previous is null || version > previous.Version)
        {
            _jobs[jobId] = new Job(previous?.Registration, version, messages);
        }
    }

    public void Deleted(string jobId) => _jobs.Remove(jobId);

    /// <param name="Registration">Null for a job this client only published to.</param>
    /// <param name="Weights">The newest version's messages; empty before the first.</param>
    internal sealed record Job(RegisterModelRequest? Registration, ulong Version, IReadOnlyList<PublishWeightsRequest> Weights);
}
