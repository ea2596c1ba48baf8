using System.CommandLine;
using Ohem.Trainer.Cli;

// The trainer: Fast R-CNN on the bundled Fashion-MNIST detection data, with hard-example mining.
var root = new RootCommand("OhemService trainer: train and evaluate a detector with a selection policy.");
root.Subcommands.Add(PretrainCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
return root.Parse(args).Invoke();
