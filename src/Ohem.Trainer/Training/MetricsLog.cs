using System.Text.Json;

namespace Ohem.Trainer.Training;

/// <summary>One line of a run's metrics log.</summary>
/// <param name="Step">1-based iteration.</param>
/// <param name="LearningRate">The rate of this step's update.</param>
/// <param name="LossSelected">The training loss over the selected RoIs (weighted mean).</param>
/// <param name="LossAll">Mean loss over all non-ignored RoIs of the batch, from the read-only scoring
/// pass; null on steps where nothing scored every RoI.</param>
/// <param name="ForegroundFraction">Share of the selected RoIs with label &gt;= 1.</param>
/// <param name="Selected">RoIs trained on.</param>
/// <param name="Times">Seconds per stage.</param>
/// <param name="ValidationMap">Validation mAP when this step evaluated, else null.</param>
/// <param name="Mining">Where and with which weights the batch was mined, when a miner service is used.</param>
/// <param name="MinerLossGap">With synchronous remote mining: the largest relative difference between
/// the miner's and the trainer's loss of a selected RoI.</param>
public sealed record MetricsRecord(
    int Step,
    float LearningRate,
    float LossSelected,
    float? LossAll,
    float ForegroundFraction,
    int Selected,
    StageTimer Times,
    float? ValidationMap = null,
    MiningInfo? Mining = null,
    float? MinerLossGap = null);

/// <summary>
/// The run's metrics as JSON lines (one object per step; flushed per line so a crashed or
/// interrupted run keeps its log): step, lr, loss_selected, loss_all, fg_fraction, selected,
/// seconds per stage, iteration seconds, val_map; with a miner service also remote, scored_version,
/// trainer_version, staleness, rescored and (when mined in process) fallback.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _writer;

    public MetricsLog(string path)
    {
        _writer = new StreamWriter(path, append: false) { AutoFlush = true };
    }

    public void Write(MetricsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("step", record.Step);
            json.WriteNumber("lr", record.LearningRate);
            json.WriteNumber("loss_selected", record.LossSelected);
            WriteNullable(json, "loss_all", record.LossAll);
            json.WriteNumber("fg_fraction", record.ForegroundFraction);
            json.WriteNumber("selected", record.Selected);
            json.WriteStartObject("seconds");
            foreach (var stage in Enum.GetValues<Stage>())
            {
                json.WriteNumber(StageName(stage), Math.Round(record.Times[stage], 6));
            }

            json.WriteEndObject();
            json.WriteNumber("iteration_seconds", Math.Round(record.Times.IterationSeconds, 6));
            WriteNullable(json, "val_map", record.ValidationMap);
            if (record.Mining is { } m)
            {
                json.WriteBoolean("remote", m.Remote);
                json.WriteNumber("scored_version", m.ScoredVersion);
                json.WriteNumber("trainer_version", m.TrainerVersion);
                json.WriteNumber("staleness", m.Staleness);
                json.WriteBoolean("rescored", m.Rescored);
                if (record.MinerLossGap is { } gap)
                {
                    json.WriteNumber("miner_loss_gap", gap);
                }

                if (m.FallbackReason is { } why)
                {
                    json.WriteString("fallback", why);
                }
            }

            json.WriteEndObject();
        }

        _writer.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>The key a stage's seconds are logged under (snake_case).</summary>
    public static string StageName(Stage stage) => stage switch
    {
        Stage.Data => "data",
        Stage.Backbone => "backbone",
        Stage.Mining => "mining",
        Stage.HeadForwardBackward => "head_fwd_bwd",
        Stage.Step => "sgd_step",
        Stage.Publish => "publish",
        Stage.Probe => "probe",
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, "unknown stage"),
    };

    public void Dispose() => _writer.Dispose();

    private static void WriteNullable(Utf8JsonWriter json, string name, float? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
