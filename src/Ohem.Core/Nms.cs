using System.Buffers;

namespace Ohem.Core;

/// <summary>
/// Non-maximum suppression with torchvision.ops.nms semantics: visit boxes by score, descending
/// (equal scores: lower index first); keep a box unless its IoU with an already kept box is
/// strictly greater than the threshold; return the kept indices in visiting order. IoU uses the
/// same float32 operations as torchvision's CPU kernel, so keep lists match it exactly.
/// </summary>
/// <remarks>
/// Cost: one O(N log N) sort of packed keys, then each box is tested only against the kept boxes
/// that could suppress it (<see cref="KeptBoxIndex"/>: same scale band, overlapping cells), with
/// early exit at the first suppressor. Work is O(N x nearby kept), never O(N^2) when few are kept,
/// and far below torchvision's O(N x kept) scan when many are.
/// </remarks>
public static class Nms
{
    /// <summary>Class-agnostic NMS (torchvision.ops.nms).</summary>
    /// <param name="boxesXyxy">4 floats per box: x1, y1, x2, y2.</param>
    /// <param name="scores">One score per box; higher is visited first.</param>
    /// <param name="iouThreshold">Suppress when IoU &gt; this; in [0, 1].</param>
    /// <returns>Kept indices in descending score order.</returns>
    public static int[] Select(ReadOnlySpan<float> boxesXyxy, ReadOnlySpan<float> scores, float iouThreshold)
    {
        var n = Validate(boxesXyxy, scores, iouThreshold);
        using var work = new Workspace(n);
        work.SortByScore(scores);
        work.Gather(boxesXyxy, work.Order, iouThreshold);
        var keptCount = work.Greedy(0, n, work.KeptPositions);
        var kept = new int[keptCount];
        for (var i = 0; i < keptCount; i++)
        {
            kept[i] = work.Order[work.KeptPositions[i]];
        }

        return kept;
    }

    /// <summary>
    /// Per-class NMS (torchvision.ops.batched_nms): boxes of different classes never suppress each
    /// other. Kept indices come back in descending score order across all classes.
    /// </summary>
    public static int[] SelectPerClass(
        ReadOnlySpan<float> boxesXyxy, ReadOnlySpan<float> scores, ReadOnlySpan<int> classes, float iouThreshold)
    {
        var n = Validate(boxesXyxy, scores, iouThreshold);
        Guard.Length(classes.Length, n, nameof(classes), "one class per box");
        using var work = new Workspace(n);
        work.SortByScore(scores);

        // Group the score order by class, keeping score order inside each group (stable by position).
        var byClass = ArrayPool<ulong>.Shared.Rent(n);
        var minClass = int.MaxValue;
        foreach (var c in classes)
        {
            minClass = Math.Min(minClass, c);
        }

        for (var p = 0; p < n; p++)
        {
            byClass[p] = ((ulong)(uint)(classes[work.Order[p]] - minClass) << 32) | (uint)p;
        }

        Array.Sort(byClass, 0, n);
        var grouped = ArrayPool<int>.Shared.Rent(n);
        var keep = ArrayPool<bool>.Shared.Rent(n);
        try
        {
            for (var q = 0; q < n; q++)
            {
                grouped[q] = work.Order[(int)(uint)byClass[q]];
                keep[q] = false;
            }

            work.Gather(boxesXyxy, grouped.AsSpan(0, n), iouThreshold);
            var start = 0;
            while (start < n)
            {
                var end = start + 1;
                while (end < n && byClass[end] >> 32 == byClass[start] >> 32)
                {
                    end++;
                }

                var count = work.Greedy(start, end, work.KeptPositions);
                for (var i = 0; i < count; i++)
                {
                    keep[(int)(uint)byClass[work.KeptPositions[i]]] = true;
                }

                start = end;
            }

            var result = new List<int>();
            for (var p = 0; p < n; p++)
            {
                if (keep[p])
                {
                    result.Add(work.Order[p]);
                }
            }

            return [.. result];
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(byClass);
            ArrayPool<int>.Shared.Return(grouped);
            ArrayPool<bool>.Shared.Return(keep);
        }
    }

    private static int Validate(ReadOnlySpan<float> boxesXyxy, ReadOnlySpan<float> scores, float iouThreshold)
    {
        var n = Guard.Boxes(boxesXyxy, nameof(boxesXyxy));
        Guard.Length(scores.Length, n, nameof(scores), "one score per box");
        Guard.Finite(scores, nameof(scores));
        Guard.IouThreshold(iouThreshold, nameof(iouThreshold));
        return n;
    }

    /// <summary>Rented structure-of-arrays buffers for one NMS call.</summary>
    private sealed class Workspace : IDisposable
    {
        private readonly int _n;
        private readonly float[] _x1, _y1, _x2, _y2, _area; // boxes in visiting order
        private readonly int[] _order, _keptPositions;
        private KeptBoxIndex? _index;

        public Workspace(int n)
        {
            _n = n;
            _x1 = Rent(n); _y1 = Rent(n); _x2 = Rent(n); _y2 = Rent(n); _area = Rent(n);
            _order = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
            _keptPositions = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
        }

        /// <summary>Original index of the box visited at each position.</summary>
        public Span<int> Order => _order.AsSpan(0, _n);

        public Span<int> KeptPositions => _keptPositions.AsSpan(0, _n);

        /// <summary>Score descending, index ascending on ties: one sort of packed 64-bit keys.</summary>
        public void SortByScore(ReadOnlySpan<float> scores)
        {
            var keys = ArrayPool<ulong>.Shared.Rent(Math.Max(_n, 1));
            try
            {
                for (var i = 0; i < _n; i++)
                {
                    keys[i] = ((ulong)DescendingKey(scores[i]) << 32) | (uint)i;
                }

                Array.Sort(keys, 0, _n);
                for (var i = 0; i < _n; i++)
                {
                    _order[i] = (int)(uint)keys[i];
                }
            }
            finally
            {
                ArrayPool<ulong>.Shared.Return(keys);
            }
        }

        /// <summary>Lays the boxes out in visiting order, structure-of-arrays.</summary>
        public void Gather(ReadOnlySpan<float> xyxy, ReadOnlySpan<int> order, float threshold)
        {
            for (var p = 0; p < order.Length; p++)
            {
                var b = 4 * order[p];
                float x1 = xyxy[b], y1 = xyxy[b + 1], x2 = xyxy[b + 2], y2 = xyxy[b + 3];
                _x1[p] = x1; _y1[p] = y1; _x2[p] = x2; _y2[p] = y2;
                _area[p] = (x2 - x1) * (y2 - y1);
            }

            _index = new KeptBoxIndex(_n, threshold);
        }

        /// <summary>Greedy pass over positions [start, end); writes kept positions, returns their count.</summary>
        public int Greedy(int start, int end, Span<int> keptPositions)
        {
            var index = _index!;
            index.Reset(_x1, _y1, _x2, _y2, _area, start, end);
            var kept = 0;
            for (var p = start; p < end; p++)
            {
                // A zero-area box has IoU 0 (or 0/0) with everything: always kept, never suppresses.
                if (_area[p] > 0f)
                {
                    if (index.Suppresses(_x1[p], _y1[p], _x2[p], _y2[p], _area[p]))
                    {
                        continue;
                    }

                    index.Add(p - start, _x1[p], _y1[p], _x2[p], _y2[p], _area[p]);
                }

                keptPositions[kept++] = p;
            }

            return kept;
        }

        public void Dispose()
        {
            foreach (var a in new[] { _x1, _y1, _x2, _y2, _area })
            {
                ArrayPool<float>.Shared.Return(a);
            }

            ArrayPool<int>.Shared.Return(_order);
            ArrayPool<int>.Shared.Return(_keptPositions);
            _index?.Dispose();
        }

        private static float[] Rent(int n) => ArrayPool<float>.Shared.Rent(Math.Max(n, 1));
    }

    /// <summary>Maps a score to a key whose ascending order is the score's descending order.</summary>
    private static uint DescendingKey(float score)
    {
        var bits = BitConverter.SingleToUInt32Bits(score + 0f); // + 0f folds -0 into +0: they tie
        var ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ~ascending;
    }
}
