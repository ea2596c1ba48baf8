namespace Ohem.Trainer.Reporting;

/// <summary>
/// Mean seconds per stage and per iteration over a run's steps after the warm-up (the first 10,
/// as TrainingSummary counts them); a run of 10 steps or fewer is averaged over all its steps.
/// </summary>
/// <param name="Stages">Mean seconds of each logged stage, in <see cref="StageOrder"/> then the log's order.</param>
/// <param name="Iteration">Mean iteration_seconds (every stage but the probe).</param>
/// <param name="FirstStep">The first step averaged.</param>
/// <param name="Steps">How many steps were averaged.</param>
public sealed record IterationTimes(IReadOnlyList<(string Stage, double Seconds)> Stages, double Iteration, int FirstStep, int Steps)
{
    /// <summary>Steps left out of the means as warm-up.</summary>
    public const int WarmupSteps = 10;

    /// <summary>The trainer's stages in the order they run; later stages in a log follow these.</summary>
    public static IReadOnlyList<string> StageOrder { get; } = ["data", "backbone", "mining", "head_fwd_bwd", "sgd_step", "publish", "probe"];

    /// <summary>The logged stage that is not part of the iteration time.</summary>
    public const string ProbeStage = "probe";

    /// <summary>The means over <paramref name="lines"/>.</summary>
    public static IterationTimes Of(IReadOnlyList<MetricsLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            throw new ArgumentException("lines is empty; expected at least one logged step.", nameof(lines));
        }

        var timed = lines.Where(l => l.Step > WarmupSteps).ToList();
        if (timed.Count == 0)
        {
            timed = [.. lines];
        }

        var names = lines.SelectMany(l => l.Seconds.Keys).Distinct(StringComparer.Ordinal)
            .OrderBy(Rank)
            .ToList(); // OrderBy is stable: unknown stages keep the log's order
        var stages = names.Select(n => (n, timed.Average(l => l.Seconds.GetValueOrDefault(n)))).ToList();
        return new IterationTimes(stages, timed.Average(l => l.IterationSeconds), timed.Min(l => l.Step), timed.Count);
    }

    private static int Rank(string stage)
    {
        for (var i = 0; i < StageOrder.Count; i++)
        {
            if (StageOrder[i] == stage)
            {
                return i;
            }
        }

        return StageOrder.Count;
    }

    /// <summary>Mean seconds of <paramref name="stage"/>, or null when the log has no such stage.</summary>
    public double? Stage(string stage)
    {
        foreach (var (name, seconds) in Stages)
        {
            if (name == stage)
            {
                return seconds;
            }
        }

        return null;
    }
}

