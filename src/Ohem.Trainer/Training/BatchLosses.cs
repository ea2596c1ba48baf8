namespace Ohem.Trainer.Training;

/// <summary>
/// Every RoI's loss over a whole batch (images concatenated in the batch's RoI order) and its two
/// terms, as the miner's scorer computes them: what a ranking policy may call hard.
/// </summary>
/// <param name="Total">[R] the multi-task loss.</param>
/// <param name="Class">[R] its cross-entropy term.</param>
/// <param name="Box">[R] its box term (0 for background).</param>
public sealed record BatchLosses(float[] Total, float[] Class, float[] Box)
{
    /// <summary>All zero, for policies that do not rank by loss (fgbg) when nothing was scored.</summary>
    public static BatchLosses Zero(int rois) => new(new float[rois], new float[rois], new float[rois]);
}
