using System.Text.Json;
using Ohem.Trainer.Training;

namespace Ohem.Trainer.Tests.Training;

public sealed class MetricsLogTests
{
    [Fact]
    public void Each_step_is_one_json_line_with_every_stage()
    {
        var path = Path.Combine(Path.GetTempPath(), $"metrics-{Guid.NewGuid():N}.jsonl");
        try
        {
            var timer = new StageTimer();
            timer.Time(Stage.Data, () => Thread.Sleep(2));
            timer.Time(Stage.Probe, () => Thread.Sleep(2));
            using (var log = new MetricsLog(path))
            {
                log.Write(new MetricsRecord(1, 0.01f, 1.5f, null, 0.25f, 128, timer));
                log.Write(new MetricsRecord(2, 0.01f, 1.25f, 2.5f, 0.5f, 128, timer, 0.75f));
            }

            var lines = File.ReadAllLines(path);
            Assert.Equal(2, lines.Length);
            using var first = JsonDocument.Parse(lines[0]);
            using var second = JsonDocument.Parse(lines[1]);
            Assert.Equal(1, first.RootElement.GetProperty("step").GetInt32());
            Assert.Equal(JsonValueKind.Null, first.RootElement.GetProperty("loss_all").ValueKind);
            Assert.Equal(2.5, second.RootElement.GetProperty("loss_all").GetDouble(), 5);
            Assert.Equal(0.75, second.RootElement.GetProperty("val_map").GetDouble(), 5);
            var seconds = first.RootElement.GetProperty("seconds");
            foreach (var stage in Enum.GetValues<Stage>())
            {
                Assert.True(seconds.TryGetProperty(MetricsLog.StageName(stage), out _), stage.ToString());
            }

            // The probe is logged but not counted in the iteration time.
            var iteration = first.RootElement.GetProperty("iteration_seconds").GetDouble();
            Assert.True(seconds.GetProperty("probe").GetDouble() > 0);
            // Each figure is rounded to 1 us on its own, so they may differ by one in the last digit.
            Assert.Equal(seconds.GetProperty("data").GetDouble(), iteration, tolerance: 2e-6);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Mean_loss_over_all_rois_skips_ignored_ones()
    {
        Assert.Equal(2f, MinedBatch.MeanOverLabelled([1f, 100f, 3f], [0, -1, 2]));
        Assert.Equal(0f, MinedBatch.MeanOverLabelled([5f], [-1]));
    }
}
