using Ohem.Onnx.Scoring;

namespace Ohem.Service.Jobs;

/// <summary>A registered training job: its scoring model, weights versions and scorer.</summary>
public sealed class Job(string id, ScoringModel model, WeightsVersionStore store) : IDisposable
{
    private long _batchesMined;

    public string Id { get; } = id;

    public ScoringModel Model { get; } = model;

    public WeightsVersionStore Weights { get; } = store;

    public RoiScorer Scorer { get; } = new(store);

    public long BatchesMined => Interlocked.Read(ref _batchesMined);

    internal void CountBatch() => Interlocked.Increment(ref _batchesMined);

    /// <summary>Releases the job's versions; scorings in flight keep theirs until they finish.</summary>
    public void Dispose() => Weights.Dispose();
}
