namespace Ohem.Service.Api;

/// <summary>Bounds the batches being mined across all streams (MinerOptions.MaxBatchesInFlight).</summary>
public sealed class InFlightLimit(Microsoft.Extensions.Options.IOptions<MinerOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxBatchesInFlight, options.Value.MaxBatchesInFlight);

    public int Max { get; } = options.Value.MaxBatchesInFlight;

    public int InUse => Max - _slots.CurrentCount;

    public Task WaitAsync(CancellationToken cancellationToken) => _slots.WaitAsync(cancellationToken);

    public void Release() => _slots.Release();

    public void Dispose() => _slots.Dispose();
}
