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
return root.Parse(args).Invoke();
