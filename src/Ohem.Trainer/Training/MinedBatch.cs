namespace Ohem.Trainer.Training;

/// <summary>What mining chose for one batch.</summary>
/// <param name="Indices">Selected RoIs as indices into the batch's RoIs (all images), image by image.</param>
/// <param name="Weights">Per-index loss weights, or null for weight 1 everywhere.</param>
/// <param name="LossAll">Mean loss over every non-ignored RoI of the batch under the scoring
/// weights, or null when this batch was not scored.</param>
/// <param name="SelectedLosses">The scorer's loss of each selected RoI (same order as
/// <paramref name="Indices"/>), or null when not asked for.</param>
/// <param name="WeightsVersion">The head version that scored the batch (0 for in-process mining,
/// which always uses the live weights).</param>
public sealed record MinedBatch(int[] Indices, float[]? Weights, float? LossAll, float[]? SelectedLosses = null, ulong WeightsVersion = 0)
{
    /// <summary>Mean of <paramref name="losses"/> over the RoIs with label &gt;= 0.</summary>
    public static float MeanOverLabelled(ReadOnlySpan<float> losses, ReadOnlySpan<int> labels)
    {
        double sum = 0;
        var count = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= 0)
            {
                sum += losses[i];
                count++;
            }
        }

        return count == 0 ? 0f : (float)(sum / count);
    }
}
