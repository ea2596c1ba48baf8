using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using Ohem.Service.Transport;
using Ohem.Testing;

namespace Ohem.Service.Tests;

/// <summary>The big-block pool Kestrel reads into: distinct memory per lease, reuse, a bounded idle list.</summary>
public sealed class LargeBlockMemoryPoolTests
{
    [Fact]
    public void Blocks_are_the_block_size_and_a_bigger_request_names_the_limit()
    {
        using var pool = new LargeBlockMemoryPool(8192, 4);
        Assert.Equal(8192, pool.MaxBufferSize);
        using var block = pool.Rent(100);
        Assert.Equal(8192, block.Memory.Length);
        using var any = pool.Rent();
        Assert.Equal(8192, any.Memory.Length);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(8193));
        Assert.Equal("minBufferSize", error.ParamName);
        Assert.Contains("8192", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disposing_a_block_twice_hands_it_back_once()
    {
        using var pool = new LargeBlockMemoryPool(4096, 8);
        var block = pool.Rent();
        block.Dispose();
        block.Dispose();
        using var first = pool.Rent();
        using var second = pool.Rent();
        Assert.False(first.Memory.Span.Overlaps(second.Memory.Span));
        Assert.Equal(2, pool.Allocated);
    }

    [Fact]
    public void Idle_blocks_beyond_the_cap_go_back_to_the_gc()
    {
        using var pool = new LargeBlockMemoryPool(4096, 1);
        var blocks = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());
        blocks = [.. Enumerable.Range(0, 3).Select(_ => pool.Rent())];
        Assert.Equal(5, pool.Allocated); // one reused, two new
        blocks.ForEach(b => b.Dispose());
    }

    /// <summary>
    /// Any sequence of rents and returns: leased blocks never share memory, and with room to keep
    /// every idle block the pool allocates exactly the peak number leased at once.
    /// </summary>
    [Fact]
    public void Leased_blocks_never_overlap_and_reuse_bounds_allocation()
    {
        var operations = Gen.ListOf(Gen.Choose(0, 9)).ToArbitrary();
        Properties.Check(Prop.ForAll(operations, ops =>
        {
            using var pool = new LargeBlockMemoryPool(4096, 1000);
            var leased = new List<IMemoryOwner<byte>>();
            var peak = 0;
            foreach (var op in ops)
            {
                if (op < 6 || leased.Count == 0)
                {
                    var block = pool.Rent();
                    if (leased.Any(l => l.Memory.Span.Overlaps(block.Memory.Span)))
                    {
                        return false;
                    }

                    leased.Add(block);
                    peak = Math.Max(peak, leased.Count);
                }
                else
                {
                    var index = op % leased.Count;
                    leased[index].Dispose();
                    leased.RemoveAt(index);
                }
            }

            return pool.Allocated == peak;
        }));
    }
}
