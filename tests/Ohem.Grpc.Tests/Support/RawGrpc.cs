using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Ohem.Grpc.Tests.Support;

/// <summary>
/// Plain HttpClient requests, framed by hand: to see exactly what our server puts on the wire
/// (headers, trailers, Trailers-Only), independent of our client.
/// </summary>
internal static class RawGrpc
{
    public sealed record Response(HttpResponseMessage Message, byte[] Body)
    {
        public string? Header(string name) => Message.Headers.TryGetValues(name, out var v) ? string.Join(",", v) : null;

        public string? Trailer(string name) => Message.TrailingHeaders.TryGetValues(name, out var v) ? string.Join(",", v) : null;
    }

    public static byte[] Frame(IMessage message, string? gzip = null)
    {
        var payload = message.ToByteArray();
        if (gzip is not null)
        {
            using var buffer = new MemoryStream();
            using (var zip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
            {
                zip.Write(payload);
            }

            payload = buffer.ToArray();
        }

        var frame = new byte[5 + payload.Length];
        frame[0] = gzip is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Sends one request body and reads the whole response, trailers included.</summary>
    public static async Task<Response> SendAsync(
        Uri server, string path, byte[] body, IEnumerable<(string Name, string Value)>? headers = null, string contentType = "application/grpc")
    {
        using var handler = new SocketsHttpHandler();
        using var client = new HttpClient(handler) { Timeout = Bounded.Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.ParseAdd("trailers");
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead).Within();
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new Response(response, bytes);
    }
}
