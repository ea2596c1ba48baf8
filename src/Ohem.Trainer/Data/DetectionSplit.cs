namespace Ohem.Trainer.Data;

/// <summary>Which canvases: Train draws items from Fashion-MNIST "train"; Validation and Test from disjoint halves of "t10k".</summary>
public enum DetectionSplit
{
    Train,
    Validation,
    Test,
}
