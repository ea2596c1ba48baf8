namespace Ohem.Trainer.Data;

/// <summary>Where a proposal came from (for analysis and galleries; the network never sees it).</summary>
public enum ProposalSource : byte
{
    GroundTruth,
    AroundObject,
    AroundDistractor,
    Random,
}

/// <summary>
/// The RoIs of one canvas with their training labels, in the shared contract.
/// </summary>
/// <param name="Boxes">R x 4 boxes (x1, y1, x2, y2) inside the canvas, positive width and height.</param>
/// <param name="Labels">R labels: the class (1..10) of the ground truth with the largest IoU when that IoU is at least the threshold, else 0.</param>
/// <param name="MaxOverlaps">R largest IoUs with any ground-truth box (Ohem.Core.Boxes.MaxIou).</param>
/// <param name="Targets">R x 4 box targets (BoxTargets.Encode towards that ground truth) for foreground, zeros for background.</param>
/// <param name="GroundTruthCount">The first G RoIs are the ground-truth boxes themselves (training only: evaluation uses <see cref="ProposalBoxes"/>).</param>
/// <param name="Sources">R origins, one per RoI.</param>
public sealed record ProposalSet(float[] Boxes, int[] Labels, float[] MaxOverlaps, float[] Targets, int GroundTruthCount, ProposalSource[] Sources)
{
    /// <summary>Number of RoIs, R (ground truth included).</summary>
    public int Count => Labels.Length;

    /// <summary>The proposals without the ground-truth boxes: what a detector sees at test time.</summary>
    public ReadOnlySpan<float> ProposalBoxes => Boxes.AsSpan(4 * GroundTruthCount);

    /// <summary>Number of foreground RoIs (label &gt;= 1).</summary>
    public int ForegroundCount
    {
        get
        {
            var n = 0;
            foreach (var label in Labels)
            {
                n += label >= 1 ? 1 : 0;
            }

            return n;
        }
    }
}
