using Ohem.Core.Selection;
using SelectionResult = Ohem.Core.Selection.Selection;

namespace Ohem.Core.Tests.Selection;

/// <summary>The contract every policy's output must meet, checked against the input.</summary>
internal static class SelectionAssert
{
    public static void WellFormed(SelectionResult s, RoiCase c, int? budget)
    {
        var idx = s.Indices;
        Assert.Equal(idx.Length, idx.Distinct().Count());
        Assert.All(idx, i => Assert.InRange(i, 0, c.Count - 1));
        Assert.All(idx, i => Assert.True(c.Labels[i] >= 0, $"ignored RoI {i} selected"));
        if (budget is { } b)
        {
            Assert.True(idx.Length <= b, $"{idx.Length} selected over budget {b}");
        }

        if (s.Weights is not null)
        {
            Assert.Equal(idx.Length, s.Weights.Length);
        }

        var counts = s.Counts;
        Assert.Equal(c.Labels.Count(l => l >= 0), counts.Candidates);
        Assert.Equal(c.Labels.Count(l => l < 0), counts.Ignored);
        Assert.Equal(idx.Count(i => c.Labels[i] >= 1), counts.Foreground);
        Assert.Equal(idx.Count(i => c.Labels[i] == 0), counts.Background);
        Assert.Equal(idx.Length, counts.Selected);
        Assert.InRange(counts.SuppressedByNms, 0, counts.Candidates);
    }

    /// <summary>Hardest first: loss descending, lower index first on equal losses.</summary>
    public static int[] HardestFirst(IEnumerable<int> indices, float[] losses) =>
        [.. indices.OrderByDescending(i => losses[i]).ThenBy(i => i)];
}
