namespace Ohem.Trainer.Training;

/// <summary>
/// Which canvases make each batch: a seeded shuffle of the training set per epoch, taken N at a
/// time (Fast R-CNN's image-centric sampling), so every canvas is seen once per epoch.
/// </summary>
public sealed class BatchOrder(int count, int imagesPerBatch, int seed)
{
    private readonly Random _random = new(seed);
    private int[] _order = [];
    private int _next;

    /// <summary>The next batch's canvas indices.</summary>
    public int[] Next()
    {
        var batch = new int[imagesPerBatch];
        for (var i = 0; i < imagesPerBatch; i++)
        {
            if (_next == _order.Length)
            {
                _order = [.. Enumerable.Range(0, count)];
                _random.Shuffle(_order);
                _next = 0;
            }

            batch[i] = _order[_next++];
        }

        return batch;
    }
}
