using System.Diagnostics;

namespace Ohem.Bench;

/// <summary>Median wall time over repeats, after warm-up that lets the JIT settle.</summary>
internal static class Measure
{
    public static double MedianSeconds(Action action, int repeats)
    {
        // Warm up for a while, not a count: tiered JIT swaps in optimised code in the background,
        // and a long-running service only ever runs that code.
        var warmup = Stopwatch.StartNew();
        for (var i = 0; i < 3 || warmup.Elapsed < TimeSpan.FromSeconds(0.5); i++)
        {
            action();
        }

        var times = new double[Math.Max(1, repeats)];
        for (var i = 0; i < times.Length; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        Array.Sort(times);
        return times[times.Length / 2];
    }

    public static string Milliseconds(double seconds) =>
        (seconds * 1e3).ToString(seconds < 0.01 ? "0.000" : "0.0", System.Globalization.CultureInfo.InvariantCulture);
}
