namespace Ohem.Onnx.Tests.Scoring;

/// <summary>
/// The soak test measures the process's memory, so it runs alone: xunit runs this collection
/// after the parallel ones, with nothing else allocating in the process meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "soak (runs alone)";
}
