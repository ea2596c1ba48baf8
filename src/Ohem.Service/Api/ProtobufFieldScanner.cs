using System.Buffers;

namespace Ohem.Service.Api;

/// <summary>
/// Finds one length-delimited field in a protobuf message's wire bytes without parsing the rest
/// (protobuf encoding: each field is a varint tag, number &lt;&lt; 3 | wire type, then its value).
/// </summary>
internal static class ProtobufFieldScanner
{
    private const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    /// <summary>
    /// The one occurrence of field <paramref name="number"/> as a length-delimited value: where
    /// its tag starts, where its value starts, and the value's length. False when it is absent,
    /// repeated, or the bytes hold anything this scanner does not walk (groups, a malformed
    /// field): the caller then parses the usual way, which reports malformed input.
    /// </summary>
    public static bool TryFindSingle(in ReadOnlySequence<byte> message, int number, out long tagStart, out long valueStart, out long valueLength)
    {
        tagStart = valueStart = valueLength = -1;
        var reader = new SequenceReader<byte>(message);
        var found = false;
        while (!reader.End)
        {
            var start = reader.Consumed;
            if (!TryReadVarint(ref reader, out var tag) || tag >> 3 == 0)
            {
                return false;
            }

            var wireType = (int)(tag & 7);
            var isTarget = tag >> 3 == (ulong)number;
            if (isTarget && (wireType != LengthDelimited || found))
            {
                return false;
            }

            switch (wireType)
            {
                case Varint when TryReadVarint(ref reader, out _):
                    break;
                case Fixed64 when reader.Remaining >= 8:
                    reader.Advance(8);
                    break;
                case Fixed32 when reader.Remaining >= 4:
                    reader.Advance(4);
                    break;
                case LengthDelimited when TryReadVarint(ref reader, out var length) && length <= (ulong)reader.Remaining:
                    if (isTarget)
                    {
                        found = true;
                        tagStart = start;
                        valueStart = reader.Consumed;
                        valueLength = (long)length;
                    }

                    reader.Advance((long)length);
                    break;
                default:
                    return false;
            }
        }

        return found;
    }

    private static bool TryReadVarint(ref SequenceReader<byte> reader, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
