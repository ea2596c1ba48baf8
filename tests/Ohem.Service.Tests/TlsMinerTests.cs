using System.Security.Cryptography.X509Certificates;
using Grpc.Health.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Ohem.Testing;

namespace Ohem.Service.Tests;

/// <summary>The miner listening on https (TLS, ALPN h2) with a PFX from configuration, client certificates required.</summary>
public class TlsMinerTests
{
    [Fact]
    public async Task The_miner_serves_over_tls_and_requires_a_client_certificate_when_configured()
    {
        using var server = Certificates.Server();
        using var clientCertificate = Certificates.Client();
        var pfx = Path.GetTempFileName();
        await File.WriteAllBytesAsync(pfx, server.Export(X509ContentType.Pkcs12, "pfx-pass"));
        try
        {
            await using var miner = await LoopbackMiner.StartAsync(
                ("Miner:Listen", "https://127.0.0.1:0"), ("Miner:TlsCertificate", pfx),
                ("Miner:TlsCertificatePassword", "pfx-pass"), ("Miner:RequireClientCertificate", "true"));
            Assert.Equal("https", miner.Address.Scheme);

            GrpcChannel Channel(X509Certificate2? certificate) => GrpcChannel.ForAddress(miner.Address, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    SslOptions =
                    {
                        // Trust exactly the test's self-signed server certificate.
                        RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == server.GetCertHashString(),
                        ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
                    },
                },
            });

            using (var channel = Channel(clientCertificate))
            {
                var health = await new Health.HealthClient(channel.CreateCallInvoker()).CheckAsync(new HealthCheckRequest());
                Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
            }

            using (var channel = Channel(null))
            {
                var refused = await Assert.ThrowsAsync<RpcException>(async () =>
                    await new Health.HealthClient(channel.CreateCallInvoker()).CheckAsync(new HealthCheckRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20))));
                Assert.NotEqual(StatusCode.OK, refused.StatusCode);
            }
        }
        finally
        {
            File.Delete(pfx);
        }
    }
}
