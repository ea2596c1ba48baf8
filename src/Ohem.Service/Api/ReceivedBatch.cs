using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Ohem.Protocol.V1;
using Ohem.Service.Mining;

namespace Ohem.Service.Api;

/// <summary>
/// A Mine request as the miner receives it: the message, with its feature bytes (when big) in a
/// buffer from the <see cref="FeatureBufferPool"/> rather than an array of their own. Dispose
/// once the batch is scored: the buffer goes back to the pool and the request's
/// features.data becomes empty, so nothing views a buffer another batch reuses.
/// </summary>
public sealed class ReceivedBatch : IDisposable
{
    private readonly FeatureBufferPool? _pool;
    private byte[]? _buffer;

    private ReceivedBatch(MineRequest request, FeatureBufferPool? pool, byte[]? buffer)
    {
        Request = request;
        _pool = pool;
        _buffer = buffer;
    }

    public MineRequest Request { get; }

    /// <summary>True when the feature bytes live in a pooled buffer.</summary>
    public bool Pooled => Volatile.Read(ref _buffer) is not null;

    /// <summary>
    /// ohem.v1.HardExampleMiner/Mine as the server reads it: the generated method's name and wire
    /// format, requests parsed by <see cref="Parse"/>.
    /// </summary>
    public static Method<ReceivedBatch, MineResponse> MineMethod(FeatureBufferPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return new Method<ReceivedBatch, MineResponse>(
            MethodType.DuplexStreaming,
            HardExampleMiner.Descriptor.FullName,
            nameof(HardExampleMiner.HardExampleMinerBase.Mine),
            Marshallers.Create<ReceivedBatch>((batch, context) => Write(batch.Request, context), context => Parse(context.PayloadAsReadOnlySequence(), pool)),
            Marshallers.Create<MineResponse>(Write, context => MineResponse.Parser.ParseFrom(context.PayloadAsReadOnlySequence())));
    }

    private static void Write(IMessage message, SerializationContext context)
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    /// <summary>
    /// Parses a MineRequest from its wire bytes; equal to MineRequest.Parser.ParseFrom. When
    /// features.data holds at least <see cref="FeatureBufferPool.MinimumBytes"/>, those bytes are
    /// copied once into a pooled buffer and the rest of the message is parsed around them (a
    /// message field met twice is merged, so the message without the features field, then the
    /// features without data, parse to the same fields). Anything unusual takes the usual parse.
    /// </summary>
    public static ReceivedBatch Parse(ReadOnlySequence<byte> payload, FeatureBufferPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (!ProtobufFieldScanner.TryFindSingle(payload, MineRequest.FeaturesFieldNumber, out var featuresTag, out var featuresStart, out var featuresLength))
        {
            return new ReceivedBatch(MineRequest.Parser.ParseFrom(payload), null, null);
        }

        var features = payload.Slice(featuresStart, featuresLength);
        if (!ProtobufFieldScanner.TryFindSingle(features, Tensor.DataFieldNumber, out var dataTag, out var dataStart, out var dataLength)
            || dataLength < pool.MinimumBytes)
        {
            return new ReceivedBatch(MineRequest.Parser.ParseFrom(payload), null, null);
        }

        var buffer = pool.Rent((int)dataLength);
        try
        {
            features.Slice(dataStart, dataLength).CopyTo(buffer);
            var request = new MineRequest();
            request.MergeFrom(payload.Slice(0, featuresTag));
            request.MergeFrom(payload.Slice(featuresStart + featuresLength));
            var tensor = new Tensor();
            tensor.MergeFrom(features.Slice(0, dataTag));
            tensor.MergeFrom(features.Slice(dataStart + dataLength));
            tensor.Data = UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, (int)dataLength));
            request.Features = tensor;
            return new ReceivedBatch(request, pool, buffer);
        }
        catch
        {
            pool.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is null)
        {
            return;
        }

        Request.Features.Data = ByteString.Empty;
        _pool!.Return(buffer);
    }
}
