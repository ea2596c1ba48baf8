using Ohem.Onnx.Export;
using Ohem.Onnx.Scoring;

namespace Ohem.Onnx.Tests.Scoring;

[Collection(RunsAlone.Name)]
public class SoakTests
{
    [Fact]
    public void Soak_creating_sessions_and_ten_thousand_scorings_keep_memory_flat()
    {
        // Weights of 0.5 MB per version: 200 leaked sessions would be ~100 MB, far above the bound.
        var spec = new RoiHeadSpec(16, 4, 4, 0.5f, [512], 3);
        var model = ScoringModel.Load(RoiHeadExporter.Export(spec, RoiHeadExporter.RandomWeights(spec, 0)));
        var versions = new[] { 1, 2 }.Select(s => RoiHeadExporter.RandomWeights(spec, s)).ToArray();
        var batch = ScoringFixture.Batch(7, perImage: 16) with { Shape = (2, 16, 9, 11), Features = Engine.TestModels.RandomFeatures(2 * 16 * 9 * 11, 7) };
        void Cycle(int scorings)
        {
            using var store = new WeightsVersionStore(model);
            store.Install(1, versions[0].ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()));
            store.Install(2, versions[1].ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()));
            var scorer = new RoiScorer(store);
            for (var i = 0; i < scorings; i++)
            {
                scorer.Score(batch, i % 2 == 0 ? 1ul : 2ul);
            }
        }

        for (var i = 0; i < 20; i++)
        {
            Cycle(50); // warm up: pools, JIT, ORT's arenas
        }

        var (managed0, native0) = Memory();
        for (var i = 0; i < 100; i++)
        {
            Cycle(100); // 100 stores (200 sessions) and 10,000 scorings
        }

        var (managed1, native1) = Memory();
        Assert.True(managed1 - managed0 < 8 << 20, $"managed heap grew {(managed1 - managed0) >> 10} KiB");
        Assert.True(native1 - native0 < 24 << 20, $"resident memory grew {(native1 - native0) >> 10} KiB");
    }

    private static (long Managed, long Resident) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var rss = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kib = long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (GC.GetTotalMemory(true), kib * 1024);
    }
}
