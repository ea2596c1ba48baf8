using System.Diagnostics;

namespace Ohem.Trainer.Training;

/// <summary>The stages of one training iteration, in the order they run.</summary>
public enum Stage
{
    /// <summary>Canvases, proposals and labels gathered into a batch.</summary>
    Data,

    /// <summary>Backbone forward on the batch's images.</summary>
    Backbone,

    /// <summary>Scoring all RoIs and selecting (in process, or the miner's round trip).</summary>
    Mining,

    /// <summary>Head forward + loss + backward on the selected RoIs (and the backbone's backward).</summary>
    HeadForwardBackward,

    /// <summary>The SGD update.</summary>
    Step,

    /// <summary>Publishing the head's weights to the miners as a new version.</summary>
    Publish,

    /// <summary>Extra scoring only for the log (loss over all RoIs for policies that skip it); not
    /// part of the iteration time.</summary>
    Probe,
}

/// <summary>Seconds spent per stage in one iteration.</summary>
public sealed class StageTimer
{
    private static readonly int StageCount = Enum.GetValues<Stage>().Length;
    private readonly double[] _seconds = new double[StageCount];

    /// <summary>Seconds of <paramref name="stage"/> so far.</summary>
    public double this[Stage stage] => _seconds[(int)stage];

    /// <summary>Seconds of every stage except <see cref="Stage.Probe"/>.</summary>
    public double IterationSeconds => _seconds.Sum() - _seconds[(int)Stage.Probe];

    /// <summary>Runs <paramref name="work"/> and adds its time to <paramref name="stage"/>.</summary>
    public T Time<T>(Stage stage, Func<T> work)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return work();
        }
        finally
        {
            _seconds[(int)stage] += Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
    }

    /// <summary>Runs <paramref name="work"/> and adds its time to <paramref name="stage"/>.</summary>
    public void Time(Stage stage, Action work) => Time(stage, () => { work(); return 0; });

    /// <summary>Zeroes every stage.</summary>
    public void Reset() => Array.Clear(_seconds);
}
