namespace Ohem.Core.Selection;

/// <summary>What a policy chose for one image.</summary>
/// <param name="Indices">Selected RoI indices into the image's RoIs: hardest first for ranking
/// policies, in sample order for sampling policies. Never contains an ignored RoI or a duplicate.</param>
/// <param name="Weights">Per-index loss weights (same length as <paramref name="Indices"/>) for
/// policies that reweight to stay unbiased; null means weight 1 for every index.</param>
/// <param name="Counts">What happened, for metrics and logs.</param>
public sealed record Selection(int[] Indices, float[]? Weights, SelectionCounts Counts);

/// <summary>Counts of one selection.</summary>
/// <param name="Candidates">RoIs that could be selected (label &gt;= 0).</param>
/// <param name="Ignored">RoIs with label -1, never selected.</param>
/// <param name="SuppressedByNms">Candidates removed by NMS (0 for policies without NMS).</param>
/// <param name="Foreground">Selected RoIs with label &gt;= 1.</param>
/// <param name="Background">Selected RoIs with label 0.</param>
public readonly record struct SelectionCounts(int Candidates, int Ignored, int SuppressedByNms, int Foreground, int Background)
{
    public int Selected => Foreground + Background;
}
