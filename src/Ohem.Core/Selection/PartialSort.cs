namespace Ohem.Core.Selection;

/// <summary>
/// "Sort only what is needed": the k smallest of n keys, in ascending order, in place. With a
/// budget of 64 out of ~2000 RoIs a bounded max-heap costs O(n log k) instead of a full O(n log n)
/// sort; when k is a large share of n a full (introsort) sort is faster and is used instead.
/// </summary>
internal static class PartialSort
{
    /// <summary>
    /// Moves the <paramref name="k"/> smallest keys to the front of <paramref name="keys"/> in
    /// ascending order and returns how many that is, min(k, n). What is left after the front is
    /// unspecified (scratch).
    /// </summary>
    public static int Smallest<T>(Span<T> keys, int k)
        where T : struct, IComparable<T>
    {
        var n = keys.Length;
        if (k <= 0)
        {
            return 0;
        }

        if (k >= n || 4 * k >= n)
        {
            keys.Sort();
            return Math.Min(k, n);
        }

        // Max-heap of the k smallest seen so far in keys[..k]; its root is the largest of them.
        var heap = keys[..k];
        for (var i = k / 2 - 1; i >= 0; i--)
        {
            SiftDown(heap, i);
        }

        for (var i = k; i < n; i++)
        {
            if (keys[i].CompareTo(heap[0]) < 0)
            {
                heap[0] = keys[i];
                SiftDown(heap, 0);
            }
        }

        heap.Sort();
        return k;
    }

    private static void SiftDown<T>(Span<T> heap, int i)
        where T : struct, IComparable<T>
    {
        var value = heap[i];
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= heap.Length)
            {
                break;
            }

            if (child + 1 < heap.Length && heap[child + 1].CompareTo(heap[child]) > 0)
            {
                child++;
            }

            if (heap[child].CompareTo(value) <= 0)
            {
                break;
            }

            heap[i] = heap[child];
            i = child;
        }

        heap[i] = value;
    }
}
