using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Ohem.Protocol.V1;
using Ohem.Service.Api;
using Ohem.Service.Mining;
using Ohem.Testing;

namespace Ohem.Service.Tests;

/// <summary>
/// The miner's Mine request parse: the same message as protobuf's own parse, whatever the field
/// order and however the bytes are split, with big feature bytes in a pooled buffer that comes back.
/// </summary>
public sealed class ReceivedBatchTests
{
    [Fact]
    public void A_trainer_batch_parses_to_the_same_message_with_its_features_in_a_pooled_buffer()
    {
        var pool = new FeatureBufferPool(1 << 20, 2);
        var request = TestJobs.Request("det", 3, seed: 1, height: 96, width: 96); // 73,728 feature bytes
        var bytes = request.ToByteArray();
        var batch = ReceivedBatch.Parse(new ReadOnlySequence<byte>(bytes), pool);
        Assert.True(batch.Pooled);
        Assert.Equal(request, batch.Request);
        Assert.Equal(1, pool.Outstanding);

        // The features are viewed where the pool put them: the decoder reads the pooled buffer.
        var (values, shape) = FeatureDecoder.Decode(batch.Request.Features);
        Assert.Equal((2, 2, 96, 96), shape);
        Assert.Equal(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(request.Features.Data.Span).ToArray(), values.ToArray());

        batch.Dispose();
        batch.Dispose();
        Assert.Equal(0, pool.Outstanding);
        Assert.True(batch.Request.Features.Data.IsEmpty); // nothing keeps viewing a buffer the next batch reuses
    }

    [Fact]
    public void Small_features_take_the_usual_parse()
    {
        var pool = new FeatureBufferPool(1 << 20, 2);
        var request = TestJobs.Request("det", 3, seed: 1); // 792 feature bytes
        using var batch = ReceivedBatch.Parse(new ReadOnlySequence<byte>(request.ToByteArray()), pool);
        Assert.False(batch.Pooled);
        Assert.Equal(request, batch.Request);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_message_that_fails_to_parse_after_its_features_were_copied_returns_the_buffer()
    {
        var pool = new FeatureBufferPool(1 << 20, 2, minimumBytes: 16);
        var request = TestJobs.Request("det", 3, seed: 1);
        var output = new MemoryStream();
        request.WriteTo(output);
        var tail = new CodedOutputStream(output);
        tail.WriteTag(MineRequest.ImagesFieldNumber, WireFormat.WireType.LengthDelimited);
        tail.WriteBytes(ByteString.CopyFrom(0)); // an ImageRois holding tag 0: invalid
        tail.Flush();
        var bytes = output.ToArray();

        Assert.Throws<InvalidProtocolBufferException>(() => MineRequest.Parser.ParseFrom(bytes));
        Assert.Throws<InvalidProtocolBufferException>(() => ReceivedBatch.Parse(new ReadOnlySequence<byte>(bytes), pool));
        Assert.Equal(0, pool.Outstanding);
    }

    /// <summary>
    /// Hostile input (issue 14, item 1): ImageRois.boxes declares 0x7FFFFFF0 bytes of packed
    /// floats in a 22-byte field. The parse fails at once, allocating nothing near the declared
    /// length, with features small (the usual parse) and big (the pooled parse around them).
    /// </summary>
    [Fact]
    public void A_packed_float_length_beyond_the_bytes_present_fails_without_allocating_it()
    {
        var hostile = Convert.FromHexString("0a0a70726f62652d6d61696e" + "3216" + "0af0ffffff07" + new string('0', 32));
        var features = new Tensor { Shape = { 1, 1, 128, 128 }, Dtype = DataType.Float32, Data = ByteString.CopyFrom(new byte[4 * 128 * 128]) };
        var bigFeatures = hostile.Concat(new MineRequest { Features = features }.ToByteArray()).ToArray();
        var pool = new FeatureBufferPool(1 << 20, 2);
        foreach (var bytes in new[] { hostile, bigFeatures })
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            Assert.Throws<InvalidProtocolBufferException>(() => ReceivedBatch.Parse(new ReadOnlySequence<byte>(bytes), pool));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the parse allocated for the declared length, not the bytes present");
            Assert.Equal(0, pool.Outstanding);
        }
    }

    /// <summary>
    /// Random requests written field by field in a random order (features split over two fields,
    /// or data given twice, now and then), the bytes cut into random segments: the parse equals
    /// MineRequest.Parser's on the same bytes; features are pooled exactly when the message has
    /// one features field with one data field of at least the pool's minimum; every buffer returns.
    /// </summary>
    [Fact]
    public void Parse_equals_protobufs_own_whatever_the_field_order_and_the_segments()
    {
        var cases = (from seed in Gen.Choose(0, int.MaxValue)
                     from dataBytes in Gen.OneOf(Gen.Choose(0, 80), Gen.Choose(100, 3000))
                     from splitFeatures in Gen.Frequency((1, Gen.Constant(true)), (6, Gen.Constant(false)))
                     from dataTwice in Gen.Frequency((1, Gen.Constant(true)), (6, Gen.Constant(false)))
                     from cuts in Gen.ListOf(Gen.Choose(0, 4000))
                     select (seed, dataBytes, splitFeatures, dataTwice, cuts)).ToArbitrary();
        Properties.Check(Prop.ForAll(cases, c =>
        {
            var pool = new FeatureBufferPool(1 << 20, 2, minimumBytes: 64);
            var (bytes, pooled) = Wire(new Random(c.seed), c.dataBytes, c.splitFeatures, c.dataTwice);
            var expected = MineRequest.Parser.ParseFrom(bytes);
            var batch = ReceivedBatch.Parse(Segmented(bytes, c.cuts), pool);
            var same = batch.Request.Equals(expected) && batch.Pooled == pooled && pool.Outstanding == (pooled ? 1 : 0);
            batch.Dispose();
            return same && pool.Outstanding == 0;
        }), maxTest: 300);
    }

    /// <summary>A request's wire bytes, its top-level fields and its tensor's fields each in a random order.</summary>
    private static (byte[] Bytes, bool Pooled) Wire(Random rng, int dataBytes, bool splitFeatures, bool dataTwice)
    {
        var data = new byte[dataBytes];
        rng.NextBytes(data);
        var tensorParts = new List<Tensor>
        {
            new() { Shape = { Enumerable.Range(0, rng.Next(0, 5)).Select(_ => (long)rng.Next(1, 50)) } },
            new() { Dtype = (DataType)rng.Next(0, 3) },
            new() { Data = ByteString.CopyFrom(data) },
        };
        if (dataTwice)
        {
            tensorParts.Add(new Tensor { Data = ByteString.CopyFrom(data.AsSpan(0, dataBytes / 2)) });
        }

        Shuffle(rng, tensorParts);
        var fields = new List<byte[]>();
        if (splitFeatures)
        {
            var half = rng.Next(0, tensorParts.Count + 1);
            fields.Add(FeaturesField(tensorParts.Take(half)));
            fields.Add(FeaturesField(tensorParts.Skip(half)));
        }
        else
        {
            fields.Add(FeaturesField(tensorParts));
        }

        var parts = new List<MineRequest>
        {
            new() { JobId = new string((char)('a' + rng.Next(26)), rng.Next(0, 12)) },
            new() { BatchId = (ulong)rng.NextInt64() },
            rng.Next(3) switch { 0 => new MineRequest(), 1 => new() { WeightsVersion = (ulong)rng.Next() }, _ => new() { MinWeightsVersion = (ulong)rng.Next() } },
            new() { Policy = new SelectionPolicy { Name = "ohem", Options = { ["budget"] = rng.Next(1, 99).ToString(System.Globalization.CultureInfo.InvariantCulture) } } },
            new() { ReturnLosses = rng.Next(2) == 1 },
        };
        for (var i = rng.Next(0, 4); i > 0; i--)
        {
            var count = rng.Next(0, 20);
            parts.Add(new MineRequest
            {
                Images =
                {
                    new ImageRois
                    {
                        Boxes = { Enumerable.Range(0, 4 * count).Select(_ => (float)rng.NextDouble()) },
                        Labels = { Enumerable.Range(0, count).Select(_ => rng.Next(-1, 5)) },
                        BoxTargets = { Enumerable.Range(0, 4 * count).Select(_ => (float)rng.NextDouble()) },
                    },
                },
            });
        }

        fields.AddRange(parts.Select(p => p.ToByteArray()));
        Shuffle(rng, fields);
        var pooled = !splitFeatures && !dataTwice && dataBytes >= 64;
        return ([.. fields.SelectMany(f => f)], pooled);
    }

    private static byte[] FeaturesField(IEnumerable<Tensor> parts)
    {
        var tensor = parts.SelectMany(p => p.ToByteArray()).ToArray();
        var output = new MemoryStream();
        var coded = new CodedOutputStream(output);
        coded.WriteTag(MineRequest.FeaturesFieldNumber, WireFormat.WireType.LengthDelimited);
        coded.WriteBytes(ByteString.CopyFrom(tensor));
        coded.Flush();
        return output.ToArray();
    }

    private static void Shuffle<T>(Random rng, List<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>The bytes as a sequence of several segments, cut where <paramref name="cuts"/> say.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, IEnumerable<int> cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Append(0).Append(bytes.Length).Distinct().Order().ToArray();
        Segment? first = null, last = null;
        for (var i = 0; i + 1 < bounds.Length; i++)
        {
            var segment = new Segment(bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]), bounds[i]);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Next = segment;
            }

            last = segment;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public new Segment? Next
        {
            get => (Segment?)base.Next;
            set => base.Next = value;
        }
    }
}
