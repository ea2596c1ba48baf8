using System.Text.Json;

namespace Ohem.Trainer.Reporting;

/// <summary>
/// Reads a run's metrics.jsonl. Required fields must be there with the right type; fields added
/// later (remote, versions, staleness) are read when present; unknown fields are ignored, and
/// unknown keys under "seconds" are kept as stages.
/// </summary>
public static class MetricsFile
{
    /// <summary>Every line of <paramref name="path"/>; blank lines are skipped.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A line is not JSON or lacks a required field; the message names the file and line.</exception>
    public static IReadOnlyList<MetricsLine> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist; expected the metrics log a `train` run writes.", path);
        }

        var lines = new List<MetricsLine>();
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(text);
                lines.Add(Parse(doc.RootElement));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
            {
                throw new InvalidDataException($"{path} line {number}: {e.Message}", e);
            }
        }

        if (lines.Count == 0)
        {
            throw new InvalidDataException($"{path} holds no steps; expected one JSON object per training step.");
        }

        return lines;
    }

    /// <summary>One line's object.</summary>
    public static MetricsLine Parse(JsonElement line)
    {
        if (line.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"a line is a JSON {line.ValueKind}; expected an object.");
        }

        var seconds = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var stage in Required(line, "seconds").EnumerateObject())
        {
            seconds[stage.Name] = stage.Value.GetDouble();
        }

        return new MetricsLine(
            Required(line, "step").GetInt32(),
            OptionalDouble(line, "lr") ?? double.NaN,
            Required(line, "loss_selected").GetDouble(),
            OptionalDouble(line, "loss_all"),
            Required(line, "fg_fraction").GetDouble(),
            OptionalInt(line, "selected") ?? 0,
            seconds,
            Required(line, "iteration_seconds").GetDouble(),
            OptionalDouble(line, "val_map"),
            OptionalBool(line, "remote"),
            OptionalLong(line, "scored_version") ?? OptionalLong(line, "weights_version"),
            OptionalLong(line, "staleness"),
            OptionalBool(line, "rescored"),
            line.TryGetProperty("fallback", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null);
    }

    private static JsonElement Required(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new KeyNotFoundException($"field \"{name}\" is missing or null; expected it on every line.");

    private static double? OptionalDouble(JsonElement line, string name) =>
        line.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static int? OptionalInt(JsonElement line, string name) =>
        line.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static long? OptionalLong(JsonElement line, string name) =>
        line.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static bool? OptionalBool(JsonElement line, string name) =>
        line.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
}
