using System.CommandLine;
using System.Globalization;
using Ohem.Core;
using Ohem.Reference;
using Spectre.Console;

namespace Ohem.Bench;

/// <summary>
/// NMS and the per-RoI loss, ours beside torchvision.ops.nms and torch.nn.functional on the same
/// inputs, one thread each, medians over repeats. Fails (exit 1) if any keep list differs.
/// </summary>
internal static class SelectionBenchmark
{
    public static Command Command()
    {
        var sizes = new Option<int[]>("--sizes") { Description = "Proposal counts to time NMS at.", DefaultValueFactory = _ => [2000, 12000, 30000], AllowMultipleArgumentsPerToken = true };
        var threshold = new Option<float>("--iou") { Description = "NMS IoU threshold.", DefaultValueFactory = _ => 0.7f };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats per measurement (median reported).", DefaultValueFactory = _ => 15 };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Also write the table as Markdown here." };
        var command = new Command("selection", "NMS at proposal scale and the per-RoI loss vs torch/torchvision.")
        {
            sizes, threshold, repeats, markdown,
        };
        command.SetAction(r => Run(r.GetValue(sizes)!, r.GetValue(threshold), r.GetValue(repeats), r.GetValue(markdown)));
        return command;
    }

    private sealed record Row(string What, double Ours, double Reference, string Check);

    private static int Run(int[] sizes, float iou, int repeats, FileInfo? markdown)
    {
        if (TorchReference.UnavailableReason is { } why)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]reference unavailable:[/] {why}");
            return 2;
        }

        var rows = new List<Row>();
        var ok = true;
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn()).Start(ctx =>
        {
            foreach (var n in sizes)
            {
                var task = ctx.AddTask($"NMS, {n} proposals", maxValue: 2);
                var (boxes, scores) = SyntheticProposals.Generate(n, seed: n);
                var ours = Nms.Select(boxes, scores, iou);
                var oursSeconds = Measure.MedianSeconds(() => Nms.Select(boxes, scores, iou), repeats);
                task.Increment(1);
                // torchvision is slow at large n: fewer repeats there keep the run short.
                var refRepeats = Math.Max(3, repeats * 2000 / Math.Max(n, 2000));
                var answer = TorchReference.Nms([new NmsCase(false, boxes, scores, new int[n], iou, refRepeats)])[0];
                task.Increment(1);
                var same = ours.SequenceEqual(answer.Kept);
                ok &= same;
                rows.Add(new Row($"NMS {n:N0} boxes @ IoU {iou}", oursSeconds, answer.MedianSeconds,
                    same ? $"identical ({ours.Length:N0} kept)" : $"DIFFERENT ({ours.Length} vs {answer.Kept.Length})"));
            }

            var lossTask = ctx.AddTask("loss, 2,000 RoIs x 21 classes", maxValue: 2);
            rows.Add(LossRow(2000, 20, repeats * 10, ref ok));
            lossTask.Increment(2);
        });

        var table = new Table().Title($"Selection core, 1 thread, median of {repeats}+ runs");
        foreach (var h in new[] { "what", "ours (ms)", "torch (ms)", "speed-up", "output" })
        {
            table.AddColumn(h);
        }

        foreach (var r in rows)
        {
            table.AddRow(r.What, Measure.Milliseconds(r.Ours), Measure.Milliseconds(r.Reference),
                (r.Reference / r.Ours).ToString("0.0", CultureInfo.InvariantCulture) + "x", r.Check);
        }

        AnsiConsole.Write(table);
        var md = new System.Text.StringBuilder();
        md.AppendLine("| what | ours (ms) | torch/torchvision (ms) | speed-up | output |");
        md.AppendLine("|---|---:|---:|---:|---|");
        foreach (var r in rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.What} | {Measure.Milliseconds(r.Ours)} | {Measure.Milliseconds(r.Reference)} | {r.Reference / r.Ours:0.0}x | {r.Check} |");
        }

        Console.WriteLine();
        Console.Write(md);
        if (markdown is not null)
        {
            File.WriteAllText(markdown.FullName, md.ToString());
        }

        return ok ? 0 : 1;
    }

    private static Row LossRow(int rois, int classes, int repeats, ref bool ok)
    {
        var rng = new Random(7);
        var width = classes + 1;
        var logits = Enumerable.Range(0, rois * width).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
        var deltas = Enumerable.Range(0, rois * 4 * width).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var labels = Enumerable.Range(0, rois).Select(i => i % 4 == 0 ? rng.Next(1, width) : i % 50 == 1 ? -1 : 0).ToArray();
        var targets = Enumerable.Range(0, rois * 4).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var loss = new float[rois];
        var seconds = Measure.MedianSeconds(() => RoiLoss.Compute(logits, deltas, labels, targets, classes, loss), repeats);
        var (reference, refSeconds) = TorchReference.Loss(logits, deltas, labels, targets, classes, repeats);
        var maxDiff = loss.Zip(reference).Max(x => Math.Abs(x.First - x.Second) / Math.Max(1f, Math.Abs(x.Second)));
        ok &= maxDiff <= 1e-5f;
        return new Row($"loss {rois:N0} RoIs x {width} classes", seconds, refSeconds,
            $"max rel. diff {maxDiff.ToString("0.0e0", CultureInfo.InvariantCulture)}");
    }
}
