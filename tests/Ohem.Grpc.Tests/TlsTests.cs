using Ohem.Testing;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Ohem.Grpc.Tests.Protos;
using Ohem.Grpc.Tests.Support;

namespace Ohem.Grpc.Tests;

/// <summary>gRPC over TLS (ALPN h2) with a certificate made in the test, and a client certificate the server sees.</summary>
public sealed class TlsTests : IDisposable
{
    private static readonly Method<Payload, Payload> WhoAmI = TestMethods.Custom(MethodType.Unary, "WhoAmI");

    private readonly X509Certificate2 _serverCertificate = Certificates.Server();
    private readonly X509Certificate2 _clientCertificate = Certificates.Client();

    public void Dispose()
    {
        _serverCertificate.Dispose();
        _clientCertificate.Dispose();
    }

    private Task<TestServer> StartAsync() =>
        TestServer.StartAsync(
            endpoints => endpoints.MapGrpcService(ServerServiceDefinition.CreateBuilder()
                .AddMethod(WhoAmI, (Payload request, ServerCallContext context) => Task.FromResult(new Payload
                {
                    Text = context.ClientCertificate?.Thumbprint ?? "none",
                    StatusMessage = context.Peer,
                }))
                .Build()),
            listen => listen.UseHttps(_serverCertificate, https =>
            {
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                https.AllowAnyClientCertificate();
            }));

    private GrpcChannelOptions Trusting(X509Certificate2? clientCertificate) => new()
    {
        ServerCertificateValidation = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == _serverCertificate.Thumbprint,
        ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
    };

    [Fact]
    public async Task Calls_work_over_tls_and_the_server_sees_the_client_certificate()
    {
        await using var server = await StartAsync();
        Assert.Equal("https", server.Address.Scheme);
        using var channel = server.CreateChannel(Trusting(_clientCertificate));

        var response = await channel.CreateCallInvoker().AsyncUnaryCall(WhoAmI, null, new CallOptions(deadline: Bounded.Deadline), new Payload()).ResponseAsync.Within();

        Assert.Equal(_clientCertificate.Thumbprint, response.Text);
        Assert.StartsWith("ipv4:127.0.0.1:", response.StatusMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_client_certificate_the_server_sees_none()
    {
        await using var server = await StartAsync();
        using var channel = server.CreateChannel(Trusting(null));
        var response = await channel.CreateCallInvoker().AsyncUnaryCall(WhoAmI, null, new CallOptions(deadline: Bounded.Deadline), new Payload()).ResponseAsync.Within();
        Assert.Equal("none", response.Text);
    }

    [Fact]
    public async Task An_untrusted_server_certificate_is_unavailable()
    {
        await using var server = await StartAsync();
        using var channel = server.CreateChannel();
        var call = channel.CreateCallInvoker().AsyncUnaryCall(WhoAmI, null, new CallOptions(deadline: Bounded.Deadline), new Payload());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.Within());
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }
}
