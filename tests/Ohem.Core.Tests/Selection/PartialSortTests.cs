using FsCheck;
using FsCheck.Fluent;
using Ohem.Core.Selection;

namespace Ohem.Core.Tests.Selection;

public class PartialSortTests
{
    [Fact]
    public void Smallest_k_equals_the_prefix_of_a_full_sort()
    {
        var arb = (from keys in Gen.ArrayOf(Gen.Choose(-50, 50))
                   from k in Gen.Choose(-1, keys.Length + 2)
                   select (keys, k)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(arb, x =>
        {
            var (keys, k) = x;
            var work = (int[])keys.Clone();
            var taken = PartialSort.Smallest(work.AsSpan(), k);
            Assert.Equal(Math.Clamp(k, 0, keys.Length), taken);
            Assert.Equal(keys.Order().Take(taken), work.Take(taken));
        }));
    }

    [Fact]
    public void Heap_path_is_exercised_when_k_is_small()
    {
        // 4k < n takes the bounded-heap path; compare against a full sort on a large shuffled input.
        var random = new Random(1);
        var keys = Enumerable.Range(0, 1000).Select(_ => random.Next(100)).ToArray();
        var work = (int[])keys.Clone();
        Assert.Equal(10, PartialSort.Smallest(work.AsSpan(), 10));
        Assert.Equal(keys.Order().Take(10), work.Take(10));
    }

    [Fact]
    public void Hardness_key_orders_by_loss_descending_then_index()
    {
        var keys = new[] { HardnessKey.Of(1f, 0), HardnessKey.Of(-2f, 1), HardnessKey.Of(3f, 2), HardnessKey.Of(1f, 3), HardnessKey.Of(0f, 4), HardnessKey.Of(-0f, 5) };
        Assert.Equal([2, 0, 3, 4, 5, 1], keys.Order().Select(HardnessKey.Index));
    }
}
