using FsCheck;
using FsCheck.Fluent;
using Ohem.Grpc.Internal;
using Ohem.Testing;

namespace Ohem.Grpc.Tests;

/// <summary>The small protocol pieces: grpc-timeout, grpc-message percent-encoding, binary metadata, content-type, metadata keys.</summary>
public class ProtocolPieceTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("100n", 1L)]
    [InlineData("1n", 1L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    [InlineData("00000010m", 100_000L)]
    public void Timeout_parses_every_unit(string text, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(text, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("123456789S")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData("10s")]
    [InlineData("10 S")]
    public void Timeout_rejects_what_the_grammar_does_not_allow(string text) =>
        Assert.False(GrpcTimeout.TryParse(text, out _));

    [Fact]
    public void Timeout_format_fits_8_digits_rounds_up_and_parses_back() =>
        Properties.Check(Prop.ForAll(Gen.Choose(0, int.MaxValue).Two().ToArbitrary(), pair =>
        {
            // Ticks from 1 to ~2^61: every unit gets used.
            var ticks = Math.Max(1, ((long)pair.Item1 << 30 | (uint)pair.Item2) >> (pair.Item2 % 60));
            var text = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
            return text.Length <= 9
                && GrpcTimeout.TryParse(text, out var parsed)
                && parsed.Ticks >= ticks
                && (ticks > TimeSpan.TicksPerHour * 99_999_999L || parsed.Ticks - ticks < Math.Max(ticks / 1000, TimeSpan.TicksPerMicrosecond) * 100);
        }), 500);

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100%", "100%25")]
    [InlineData("a\tb\nc", "a%09b%0Ac")]
    [InlineData("ü", "%C3%BC")]
    [InlineData("🚀", "%F0%9F%9A%80")]
    [InlineData("~ and space", "~ and space")]
    public void Percent_encoding_follows_the_spec(string message, string wire)
    {
        Assert.Equal(wire, PercentEncoding.Encode(message));
        Assert.Equal(message, PercentEncoding.Decode(wire));
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("50%", "50%")]
    [InlineData("%G1x", "%G1x")]
    [InlineData("%c3%bc", "ü")]
    [InlineData("%FF", "\uFFFD")]
    public void Percent_decoding_never_fails(string wire, string message) =>
        Assert.Equal(message, PercentEncoding.Decode(wire));

    [Fact]
    public void Percent_encoding_round_trips_any_string_and_stays_printable_ascii() =>
        Properties.Check(Prop.ForAll(ArbMap.Default.ArbFor<string>(), s =>
        {
            // Lone surrogates cannot be UTF-8 encoded; compare against what UTF-8 makes of them.
            var message = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(s ?? string.Empty));
            var wire = PercentEncoding.Encode(message);
            return wire.All(c => c is >= ' ' and <= '~') && PercentEncoding.Decode(wire) == message;
        }), 500);

    [Theory]
    [InlineData("AQI=", new byte[] { 1, 2 })]
    [InlineData("AQI", new byte[] { 1, 2 })]
    [InlineData("AQID", new byte[] { 1, 2, 3 })]
    [InlineData("AQ==", new byte[] { 1 })]
    [InlineData("AQ", new byte[] { 1 })]
    [InlineData("", new byte[0])]
    public void Binary_metadata_accepts_padded_and_unpadded_base64(string text, byte[] bytes)
    {
        Assert.True(MetadataHeaders.TryDecodeBase64(text, out var decoded));
        Assert.Equal(bytes, decoded);
    }

    [Fact]
    public void Binary_metadata_is_sent_unpadded_and_split_on_commas_when_received()
    {
        var entry = new Metadata.Entry("k-bin", new byte[] { 1, 2 });
        Assert.Equal("AQI", MetadataHeaders.ToHeaderValue(entry));

        var metadata = new Metadata();
        MetadataHeaders.Add(metadata, "k-bin", ["AQI, AQ==", "Aw"]);
        MetadataHeaders.Add(metadata, "grpc-status", ["0"]);
        MetadataHeaders.Add(metadata, ":path", ["/x"]);
        MetadataHeaders.Add(metadata, "content-type", ["application/grpc"]);
        MetadataHeaders.Add(metadata, "Plain", ["v"]);
        Assert.Equal(4, metadata.Count);
        Assert.Equal(new byte[][] { [1, 2], [1], [3] }, metadata.GetAll("k-bin").Select(e => e.ValueBytes));
        Assert.Equal("v", metadata.GetValue("plain"));
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc;charset=utf-8", true)]
    [InlineData("Application/GRPC", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Grpc_content_types_are_recognised(string? contentType, bool grpc) =>
        Assert.Equal(grpc, GrpcProtocol.IsGrpcContentType(contentType));

    [Fact]
    public void Metadata_keys_are_lower_cased_and_checked()
    {
        Assert.Equal("x-key", new Metadata.Entry("X-Key", "v").Key);
        Assert.Throws<ArgumentException>(() => new Metadata.Entry("bad key", "v"));
        Assert.Throws<ArgumentException>(() => new Metadata.Entry("x-bin", "not bytes"));
        Assert.Throws<ArgumentException>(() => new Metadata.Entry("x", new byte[] { 1 }));
        Assert.Throws<ArgumentException>(() => new Metadata.Entry("x", "line\nbreak"));
        Assert.Equal("v", Assert.Single(new Metadata { { "a", "v" } }).Value);
    }
}
