namespace Ohem.Onnx.Scoring;

/// <summary>How many weights versions a job keeps, and how much memory they may pin.</summary>
public sealed class WeightsStoreOptions
{
    /// <summary>The newest K versions stay available, so a request pinned to a recent version is
    /// scored with exactly that version while a newer one is installed.</summary>
    public int KeepVersions { get; set; } = 2;

    /// <summary>Cap on bytes of weights held (all kept versions together); null: no cap.</summary>
    public long? MaxBytes { get; set; }
}
