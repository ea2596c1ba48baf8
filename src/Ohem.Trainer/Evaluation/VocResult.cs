namespace Ohem.Trainer.Evaluation;

/// <summary>
/// Average precision per class (index k - 1 for class k) and their mean. A class without any
/// ground truth has AP NaN and is left out of the mean; the mean is NaN when no class has ground truth.
/// </summary>
public sealed record VocResult(IReadOnlyList<float> ApPerClass, float MeanAp);
