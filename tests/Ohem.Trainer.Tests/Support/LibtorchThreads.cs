namespace Ohem.Trainer.Tests.Support;

/// <summary>
/// The classes that set libtorch's thread count (TrainingRun.Run sets the run's, RunReport shares
/// its own out while it evaluates) and compare evaluations exactly. The count is process-wide and
/// changes the last bits of libtorch's sums, so these classes run one after another, never
/// changing it under each other's feet.
/// </summary>
[CollectionDefinition(Name)]
public sealed class LibtorchThreads
{
    public const string Name = "libtorch thread count";
}
