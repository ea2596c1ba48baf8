using Google.Protobuf;
using Ohem.Protocol.V1;
using Ohem.Service.Mining;

namespace Ohem.Service.Tests;

public class FeatureDecoderTests
{
    [Fact]
    public void Float32_features_are_viewed_in_place_after_a_parse()
    {
        float[] values = [1.5f, -2f, 3.25f, 0f, 7f, 8f];
        var wire = new MineRequest { Features = new Tensor { Shape = { 1, 1, 2, 3 }, Dtype = DataType.Float32, Data = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) } };
        var parsed = MineRequest.Parser.ParseFrom(wire.ToByteArray());
        var (decoded, shape) = FeatureDecoder.Decode(parsed.Features);
        Assert.Equal((1, 1, 2, 3), shape);
        Assert.Equal(values, decoded.ToArray());
        // In place: the decoded floats share memory with the message's bytes.
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(parsed.Features.Data.Memory, out var bytes));
        bytes.Array![bytes.Offset] ^= 0x01;
        Assert.NotEqual(values[0], decoded.Span[0]);
    }

    [Fact]
    public void Float16_features_are_converted()
    {
        float[] values = [1.5f, -2f, 0.333f, 65504f];
        var halves = values.Select(v => (Half)v).ToArray();
        var (decoded, _) = FeatureDecoder.Decode(new Tensor { Shape = { 1, 1, 2, 2 }, Dtype = DataType.Float16, Data = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan())) });
        Assert.Equal(halves.Select(h => (float)h), decoded.ToArray());
    }

    [Fact]
    public void Malformed_features_name_the_field()
    {
        Assert.Contains("features are missing", Assert.Throws<ArgumentException>(() => FeatureDecoder.Decode(null)).Message);
        Assert.Contains("features.shape", Assert.Throws<ArgumentException>(() => FeatureDecoder.Decode(new Tensor { Shape = { 1, 2, 3 }, Dtype = DataType.Float32 })).Message);
        Assert.Contains("features.dtype", Assert.Throws<ArgumentException>(() => FeatureDecoder.Decode(new Tensor { Shape = { 1, 1, 1, 1 } })).Message);
        // The product of [4, 4, 2^30, 2^30] wraps a long to 0: it must not match empty data.
        Assert.Contains("features.shape", Assert.Throws<ArgumentException>(() => FeatureDecoder.Decode(new Tensor { Shape = { 4, 4, 1L << 30, 1L << 30 }, Dtype = DataType.Float32 })).Message);
        Assert.Contains("features.shape", Assert.Throws<ArgumentException>(() => FeatureDecoder.Decode(new Tensor { Shape = { 1, 1, 1L << 16, 1L << 15 }, Dtype = DataType.Float16 })).Message);
        Assert.Contains("needs 16", Assert.Throws<ArgumentException>(() => FeatureDecoder.Decode(new Tensor { Shape = { 1, 1, 2, 2 }, Dtype = DataType.Float32, Data = ByteString.CopyFrom(new byte[12]) })).Message);
    }
}
