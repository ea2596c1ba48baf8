using System.Buffers;
using System.Numerics;

namespace Ohem.Core;

/// <summary>
/// The kept set of one greedy NMS pass, indexed so a candidate is tested only against kept boxes
/// that could suppress it. Two facts bound those. Scale: IoU &lt;= min(w)/max(w) and
/// &lt;= min(h)/max(h), so IoU &gt; t needs the larger side of each box within a factor 1/t of the
/// other's. Position: the x-overlap is at most w_B - |x1_A - x1_B| when x1_A &gt;= x1_B, and IoU &gt; t
/// needs it above t w_B, so |x1_A - x1_B| &lt; (1 - t) max(w_A, w_B); likewise in y.
/// <para>
/// Every box of the pass is placed up front (a counting sort) in a grid per scale level
/// (level = floor(log2(max side))), keyed by its (x1, y1) corner, so each cell owns a contiguous
/// run of slots; a box that is kept is written into its cell's next slot as structure-of-arrays.
/// A query visits the levels and the few cells the bounds allow and tests each cell's kept boxes
/// with vectors. The bounds carry slack, so the exact float IoU test decides every outcome:
/// results equal a scan of the whole kept set.
/// </para>
/// </summary>
internal sealed class KeptBoxIndex : IDisposable
{
    private const int MaxCellsPerAxis = 64;
    private const float Slack = 1e-4f; // relative; far above float32 rounding of the bounds

    private readonly float _threshold;
    private readonly float _reach; // (1 - t), loosened: how far two corners may be apart, in box sides

    // Slots, grouped by cell; padded by one vector so a cell's last load stays in the array.
    private readonly float[] _x1, _y1, _x2, _y2, _area;
    private readonly int[] _cellOfPosition, _levelOfPosition; // relative to the pass's start
    private int[] _cellStart = [], _cellFill = [];

    // Per level of the current pass.
    private int _minLevel, _levels;
    private float _originX, _originY;
    private float[] _cellW = [], _cellH = [], _perCellX = [], _perCellY = [], _maxW = [], _maxH = [];
    private int[] _cellsX = [], _cellsY = [], _cellOffset = [], _levelCount = [];

    public KeptBoxIndex(int capacity, float threshold)
    {
        _threshold = threshold;
        _reach = 1 - threshold * (1 - Slack);
        var slots = capacity + Vector<float>.Count;
        _x1 = RentF(slots); _y1 = RentF(slots); _x2 = RentF(slots); _y2 = RentF(slots); _area = RentF(slots);
        _cellOfPosition = ArrayPool<int>.Shared.Rent(Math.Max(capacity, 1));
        _levelOfPosition = ArrayPool<int>.Shared.Rent(Math.Max(capacity, 1));
        _laneIndex = CreateLaneIndex();
    }

    /// <summary>Level of a box with positive area: floor(log2(max(w, h))).</summary>
    public static int Level(float w, float h) => FloorLog2(MathF.Max(w, h));

    /// <summary>floor(log2(x)) for x &gt; 0: the exponent bits of a normal float, ILogB otherwise.</summary>
    private static int FloorLog2(float x)
    {
        var exponent = (int)((BitConverter.SingleToUInt32Bits(x) >> 23) & 0xFF);
        return exponent is > 0 and < 0xFF ? exponent - 127 : MathF.ILogB(x);
    }

    /// <summary>
    /// Prepares an empty kept set for the boxes at positions [start, end) (visiting order);
    /// only those with positive area are indexed (a zero-area box never suppresses).
    /// </summary>
    public void Reset(ReadOnlySpan<float> x1, ReadOnlySpan<float> y1, ReadOnlySpan<float> x2, ReadOnlySpan<float> y2,
                      ReadOnlySpan<float> area, int start, int end)
    {
        int minLevel = int.MaxValue, maxLevel = int.MinValue;
        float minX = float.MaxValue, minY = float.MaxValue, maxX = float.MinValue, maxY = float.MinValue;
        for (var p = start; p < end; p++)
        {
            if (area[p] > 0f)
            {
                var level = Level(x2[p] - x1[p], y2[p] - y1[p]);
                _levelOfPosition[p - start] = level;
                minLevel = Math.Min(minLevel, level); maxLevel = Math.Max(maxLevel, level);
                minX = MathF.Min(minX, x1[p]); minY = MathF.Min(minY, y1[p]);
                maxX = MathF.Max(maxX, x1[p]); maxY = MathF.Max(maxY, y1[p]);
            }
        }

        _minLevel = minLevel;
        _levels = Math.Max(0, maxLevel - minLevel + 1);
        _originX = minX; _originY = minY;
        EnsureLevels(_levels);
        Array.Clear(_levelCount, 0, _levels);
        for (var p = start; p < end; p++)
        {
            if (area[p] > 0f)
            {
                _levelCount[_levelOfPosition[p - start] -= minLevel]++;
            }
        }

        float spanX = maxX - minX, spanY = maxY - minY;
        for (var l = 0; l < _levels; l++)
        {
            // Cells about the corner window of the level's largest box, so a query spans ~3 per
            // axis; no more cells per axis than sqrt(boxes at the level), to keep setup O(n).
            var side = MathF.ScaleB(1f, minLevel + l + 1);
            var perAxis = Math.Clamp((int)MathF.Sqrt(_levelCount[l]), 1, MaxCellsPerAxis);
            var cell = MathF.Max(_reach * side, side / MaxCellsPerAxis);
            _cellW[l] = MathF.Max(cell, spanX / perAxis);
            _cellH[l] = MathF.Max(cell, spanY / perAxis);
            _perCellX[l] = 1f / _cellW[l];
            _perCellY[l] = 1f / _cellH[l];
            _cellsX[l] = Math.Min(perAxis, (int)(spanX / _cellW[l])) + 1;
            _cellsY[l] = Math.Min(perAxis, (int)(spanY / _cellH[l])) + 1;
            _cellOffset[l + 1] = _cellOffset[l] + _cellsX[l] * _cellsY[l];
            _maxW[l] = 0f;
            _maxH[l] = 0f;
        }

        // Counting sort of the boxes by cell: each cell gets as many slots as boxes that land in it.
        var cells = _levels == 0 ? 0 : _cellOffset[_levels];
        if (_cellStart.Length < cells + 1)
        {
            _cellStart = new int[cells + 1];
            _cellFill = new int[cells + 1];
        }

        Array.Clear(_cellStart, 0, cells + 1);
        for (var p = start; p < end; p++)
        {
            if (area[p] > 0f)
            {
                var l = _levelOfPosition[p - start];
                var c = _cellOffset[l] + CellY(l, y1[p]) * _cellsX[l] + CellX(l, x1[p]);
                _cellOfPosition[p - start] = c;
                _cellStart[c + 1]++;
            }
        }

        for (var c = 0; c < cells; c++)
        {
            _cellStart[c + 1] += _cellStart[c];
            _cellFill[c] = 0;
        }
    }

    /// <summary>Adds the box at <paramref name="position"/> (relative to the pass's start) as kept.</summary>
    public void Add(int position, float x1, float y1, float x2, float y2, float area)
    {
        var c = _cellOfPosition[position];
        var slot = _cellStart[c] + _cellFill[c]++;
        _x1[slot] = x1; _y1[slot] = y1; _x2[slot] = x2; _y2[slot] = y2; _area[slot] = area;
        var l = _levelOfPosition[position];
        _maxW[l] = MathF.Max(_maxW[l], x2 - x1);
        _maxH[l] = MathF.Max(_maxH[l], y2 - y1);
    }

    /// <summary>True when some kept box has IoU &gt; the threshold with this one.</summary>
    public bool Suppresses(float x1, float y1, float x2, float y2, float area)
    {
        float w0 = x2 - x1, h0 = y2 - y1;
        var (first, last) = LevelRange(MathF.Max(w0, h0));
        var query = new Query(x1, y1, x2, y2, area, _threshold);
        for (var l = first; l <= last; l++)
        {
            if (_maxW[l] == 0f)
            {
                continue; // nothing kept at this level yet
            }

            // Corners within (1 - t) max(w_kept, w) of ours, plus slack for float rounding.
            var below = _reach * _maxW[l] + (MathF.Abs(x1) + _maxW[l]) * Slack;
            var above = _reach * w0 + (MathF.Abs(x1) + w0) * Slack;
            int cx0 = CellX(l, x1 - below), cx1 = CellX(l, x1 + above);
            below = _reach * _maxH[l] + (MathF.Abs(y1) + _maxH[l]) * Slack;
            above = _reach * h0 + (MathF.Abs(y1) + h0) * Slack;
            int cy0 = CellY(l, y1 - below), cy1 = CellY(l, y1 + above);
            for (var cy = cy0; cy <= cy1; cy++)
            {
                var row = _cellOffset[l] + cy * _cellsX[l];
                for (var cx = cx0; cx <= cx1; cx++)
                {
                    var c = row + cx;
                    if (_cellFill[c] > 0 && CellSuppresses(_cellStart[c], _cellFill[c], in query))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>One candidate, as scalars and as broadcast vectors (built once per query).</summary>
    private readonly struct Query(float x1, float y1, float x2, float y2, float area, float threshold)
    {
        public readonly float X1 = x1, Y1 = y1, X2 = x2, Y2 = y2, Area = area, Threshold = threshold;
        public readonly Vector<float> VX1 = new(x1), VY1 = new(y1), VX2 = new(x2), VY2 = new(y2), VArea = new(area), VThreshold = new(threshold);
    }

    // torchvision's expression on each kept box of one cell: inter / (area_kept + area - inter) > t.
    private bool CellSuppresses(int start, int count, in Query q)
    {
        if (Vector.IsHardwareAccelerated)
        {
            for (var j = 0; j < count; j += Vector<float>.Count)
            {
                var w = Vector.Max(Vector<float>.Zero, Vector.Min(q.VX2, new Vector<float>(_x2, start + j)) - Vector.Max(q.VX1, new Vector<float>(_x1, start + j)));
                var h = Vector.Max(Vector<float>.Zero, Vector.Min(q.VY2, new Vector<float>(_y2, start + j)) - Vector.Max(q.VY1, new Vector<float>(_y1, start + j)));
                var inter = w * h;
                var over = Vector.GreaterThan(inter / (new Vector<float>(_area, start + j) + q.VArea - inter), q.VThreshold);
                // Lanes past the cell's kept boxes hold other slots: mask them out.
                var live = Vector.LessThan(_laneIndex, new Vector<int>(count - j));
                if (!Vector.EqualsAll(over & live, Vector<int>.Zero))
                {
                    return true;
                }
            }

            return false;
        }

        for (var k = start; k < start + count; k++)
        {
            var w = MathF.Max(0f, MathF.Min(q.X2, _x2[k]) - MathF.Max(q.X1, _x1[k]));
            var h = MathF.Max(0f, MathF.Min(q.Y2, _y2[k]) - MathF.Max(q.Y1, _y1[k]));
            var inter = w * h;
            if (inter / (_area[k] + q.Area - inter) > q.Threshold)
            {
                return true;
            }
        }

        return false;
    }

    private readonly Vector<int> _laneIndex;

    private static Vector<int> CreateLaneIndex()
    {
        Span<int> lanes = stackalloc int[Vector<int>.Count];
        for (var i = 0; i < lanes.Length; i++)
        {
            lanes[i] = i;
        }

        return new Vector<int>(lanes);
    }

    /// <summary>Levels whose boxes can reach IoU &gt; t with a box of this larger side.</summary>
    private (int First, int Last) LevelRange(float side)
    {
        if (_threshold < 1e-3f)
        {
            return (0, _levels - 1);
        }

        var t = _threshold * (1 - Slack);
        var first = FloorLog2(t * side) - _minLevel;
        var last = FloorLog2(side / t) - _minLevel;
        return (Math.Max(first, 0), Math.Min(last, _levels - 1));
    }

    // Monotone in x, and the same function places boxes and bounds queries: no box is missed.
    private int CellX(int level, float x) => Math.Clamp((int)MathF.Floor((x - _originX) * _perCellX[level]), 0, _cellsX[level] - 1);

    private int CellY(int level, float y) => Math.Clamp((int)MathF.Floor((y - _originY) * _perCellY[level]), 0, _cellsY[level] - 1);

    private void EnsureLevels(int levels)
    {
        if (_cellW.Length >= levels)
        {
            return;
        }

        _cellW = new float[levels]; _cellH = new float[levels]; _perCellX = new float[levels]; _perCellY = new float[levels]; _maxW = new float[levels]; _maxH = new float[levels];
        _cellsX = new int[levels]; _cellsY = new int[levels]; _levelCount = new int[levels];
        _cellOffset = new int[levels + 1];
    }

    private static float[] RentF(int n) => ArrayPool<float>.Shared.Rent(Math.Max(n, 1));

    public void Dispose()
    {
        foreach (var a in new[] { _x1, _y1, _x2, _y2, _area })
        {
            ArrayPool<float>.Shared.Return(a);
        }

        ArrayPool<int>.Shared.Return(_cellOfPosition);
        ArrayPool<int>.Shared.Return(_levelOfPosition);
    }
}
