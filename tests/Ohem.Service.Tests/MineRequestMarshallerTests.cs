using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Ohem.Grpc;
using Ohem.Protocol.Methods;
using Ohem.Protocol.V1;
using Ohem.Service.Api;
using Ohem.Service.Mining;
using Ohem.Testing;

namespace Ohem.Service.Tests;

/// <summary>
/// The client's Mine request serializer (features last, their bytes handed over by reference):
/// protobuf reads back the same message, and the miner's pooled parse takes its fast path.
/// </summary>
public sealed class MineRequestMarshallerTests
{
    [Fact]
    public void Any_request_reads_back_equal_and_big_features_come_last_as_the_tail()
    {
        var cases = (from seed in Gen.Choose(0, int.MaxValue)
                     from height in Gen.Choose(1, 120)
                     from width in Gen.Choose(1, 120)
                     from half in Gen.Elements(false, true)
                     from perImage in Gen.Choose(0, 40)
                     from version in Gen.Choose(0, 2)
                     select (seed, height, width, half, perImage, version)).ToArbitrary();
        Properties.Check(Prop.ForAll(cases, c =>
        {
            var request = TestJobs.Request("job", (ulong)c.seed, c.seed, c.perImage, dtype: c.half ? DataType.Float16 : DataType.Float32, height: c.height, width: c.width);
            if (c.version == 1)
            {
                request.WeightsVersion = 7;
            }
            else if (c.version == 2)
            {
                request.MinWeightsVersion = 3;
            }

            var context = new CapturingContext();
            MinerMethods.Mine.RequestMarshaller.ContextualSerializer(request, context);
            var bytes = context.Bytes;
            var big = request.Features.Data.Length >= MineRequestMarshaller.MinimumTailBytes;
            var pool = new FeatureBufferPool(1 << 20, 1);
            using var batch = ReceivedBatch.Parse(new ReadOnlySequence<byte>(bytes), pool);
            return MineRequest.Parser.ParseFrom(bytes).Equals(request)
                && batch.Request.Equals(request)
                && batch.Pooled == big
                && context.Tail == (big ? request.Features.Data.Length : 0)
                && bytes.Length == request.CalculateSize()
                && bytes.AsSpan(bytes.Length - context.Tail).SequenceEqual(big ? request.Features.Data.Span : []);
        }), maxTest: 100);
    }

    /// <summary>Records what a serializer hands over: the payload, and how much of it came as a tail by reference.</summary>
    private sealed class CapturingContext : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> _buffer = new();
        private int _declared = -1;

        public byte[] Bytes { get; private set; } = [];

        public int Tail { get; private set; }

        public override void Complete(byte[] payload) => Bytes = payload;

        public override void SetPayloadLength(int payloadLength) => _declared = payloadLength;

        public override IBufferWriter<byte> GetBufferWriter() => _buffer;

        public override void Complete() => Finish([]);

        public override void Complete(ReadOnlyMemory<byte> tail) => Finish(tail.Span);

        private void Finish(ReadOnlySpan<byte> tail)
        {
            Tail = tail.Length;
            Bytes = [.. _buffer.WrittenSpan, .. tail];
            Assert.Equal(_declared, Bytes.Length);
        }
    }
}
