using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Ohem.Service.Metrics;

/// <summary>
/// One Prometheus metric family (counter, gauge or histogram) with labelled series, rendered in
/// the text exposition format (version 0.0.4). Thread-safe; updates take a per-series lock only
/// for histograms.
/// </summary>
public sealed class MetricFamily
{
    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
    private readonly double[]? _buckets;

    private MetricFamily(string name, string help, string type, string[] labelNames, double[]? buckets)
    {
        Name = name;
        Help = help;
        Type = type;
        LabelNames = labelNames;
        _buckets = buckets;
    }

    public string Name { get; }

    public string Help { get; }

    public string Type { get; }

    public IReadOnlyList<string> LabelNames { get; }

    public static MetricFamily Counter(string name, string help, params string[] labels) => new(name, help, "counter", labels, null);

    public static MetricFamily Gauge(string name, string help, params string[] labels) => new(name, help, "gauge", labels, null);

    public static MetricFamily Histogram(string name, string help, double[] buckets, params string[] labels) =>
        new(name, help, "histogram", labels, [.. buckets.Order()]);

    /// <summary>Adds to a counter (or gauge) series.</summary>
    public void Add(double value, params string[] labels) => Get(labels).Add(value);

    /// <summary>Sets a gauge series.</summary>
    public void Set(double value, params string[] labels) => Get(labels).Set(value);

    /// <summary>Records one observation in a histogram series.</summary>
    public void Observe(double value, params string[] labels) => Get(labels).Observe(value, _buckets!);

    /// <summary>Forgets a series (a deleted job's, say).</summary>
    public void Remove(params string[] labels) => _series.TryRemove(Key(labels), out _);

    public double Value(params string[] labels) => _series.TryGetValue(Key(labels), out var s) ? s.Sum : 0;

    public void Render(StringBuilder text)
    {
        text.Append("# HELP ").Append(Name).Append(' ').Append(Help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        text.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
        foreach (var (_, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            if (_buckets is null)
            {
                Sample(text, Name, series.Labels, null, series.Sum);
                continue;
            }

            var (counts, count, sum) = series.Snapshot();
            long cumulative = 0;
            for (var b = 0; b < _buckets.Length; b++)
            {
                cumulative += counts[b];
                Sample(text, Name + "_bucket", series.Labels, Format(_buckets[b]), cumulative);
            }

            Sample(text, Name + "_bucket", series.Labels, "+Inf", count);
            Sample(text, Name + "_sum", series.Labels, null, sum);
            Sample(text, Name + "_count", series.Labels, null, count);
        }
    }

    private Series Get(string[] labels)
    {
        if (labels.Length != LabelNames.Count)
        {
            throw new ArgumentException($"{Name} takes labels ({string.Join(", ", LabelNames)}); got {labels.Length} values.", nameof(labels));
        }

        return _series.GetOrAdd(Key(labels), _ => new Series(labels, _buckets?.Length ?? 0));
    }

    private static string Key(string[] labels) => string.Join('\u001f', labels);

    private void Sample(StringBuilder text, string name, string[] labels, string? le, double value)
    {
        text.Append(name);
        if (labels.Length > 0 || le is not null)
        {
            text.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                text.Append(i == 0 ? "" : ",").Append(LabelNames[i]).Append("=\"").Append(Escape(labels[i])).Append('"');
            }

            if (le is not null)
            {
                text.Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
            }

            text.Append('}');
        }

        text.Append(' ').Append(Format(value)).Append('\n');
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : value.ToString("R", CultureInfo.InvariantCulture);

    private sealed class Series(string[] labels, int buckets)
    {
        private readonly Lock _gate = new();
        private readonly long[] _counts = new long[buckets];
        private long _count;
        private double _sum;

        public string[] Labels { get; } = labels;

        public double Sum
        {
            get
            {
                lock (_gate)
                {
                    return _sum;
                }
            }
        }

        public void Add(double value)
        {
            lock (_gate)
            {
                _sum += value;
            }
        }

        public void Set(double value)
        {
            lock (_gate)
            {
                _sum = value;
            }
        }

        public void Observe(double value, double[] bounds)
        {
            lock (_gate)
            {
                var b = Array.BinarySearch(bounds, value);
                var bucket = b >= 0 ? b : ~b; // first bound >= value ("le")
                if (bucket < bounds.Length)
                {
                    _counts[bucket]++;
                }

                _count++;
                _sum += value;
            }
        }

        public (long[] Counts, long Count, double Sum) Snapshot()
        {
            lock (_gate)
            {
                return ([.. _counts], _count, _sum);
            }
        }
    }
}
