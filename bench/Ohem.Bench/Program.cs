using System.CommandLine;
using Ohem.Bench;

// Benchmarks print our figure beside the reference's, measured in the same run: a ratio holds on a
// noisy machine, an absolute time does not.
var root = new RootCommand("OhemService benchmarks.");
root.Subcommands.Add(SelectionBenchmark.Command());
root.Subcommands.Add(ScoringBenchmark.Command());
root.Subcommands.Add(TransportBenchmark.Command());
root.Subcommands.Add(TrainerBenchmark.Command());
root.Subcommands.Add(StalenessBenchmark.Command());
root.Subcommands.Add(SeedsBenchmark.Command());
root.Subcommands.Add(HardnessBenchmark.Command());
try
{
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (ArgumentException e)
{
    // A bad option value: one readable line, not a stack trace.
    Console.Error.WriteLine($"bench: {(e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal))}");
    return 2;
}
