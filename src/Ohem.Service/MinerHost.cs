using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.AspNetCore.Server.Model;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Prometheus;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Ohem.Onnx;
using Ohem.Protocol.V1;
using Ohem.Service.Api;
using Ohem.Service.Jobs;
using Ohem.Service.Metrics;
using Ohem.Service.Mining;
using Ohem.Service.Transport;

namespace Ohem.Service;

/// <summary>
/// Builds the miner host: options (appsettings.json, then OHEM__Miner__Key environment
/// variables, then the command line), Kestrel endpoints, the gRPC services (the miner, health,
/// server reflection), /metrics and /healthz.
/// </summary>
public static class MinerHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddEnvironmentVariables("OHEM__");
        builder.Configuration.AddCommandLine(args);
        configure?.Invoke(builder);
        var section = builder.Configuration.GetSection(MinerOptions.Section);
        builder.Services.Configure<MinerOptions>(section);
        var miner = section.Get<MinerOptions>() ?? new MinerOptions();

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = miner.DrainTimeout);
        // Batches are megabytes: wide flow-control windows, big frames, and Kestrel's buffers in
        // 256 KiB blocks instead of 4 KiB (half the server's CPU per batch on the Mine stream).
        builder.WebHost.UseLargeMessageTransport();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // gRPC bounds each message (Miner:MaxMessageBytes, RESOURCE_EXHAUSTED); Kestrel's 30 MB
            // per request body would otherwise fail a unary call with a bigger model as UNKNOWN.
            kestrel.Limits.MaxRequestBodySize = null;
            Listen(kestrel, miner.Listen, miner, metrics: false);
            if (miner.MetricsListen is { Length: > 0 } metricsAddress)
            {
                Listen(kestrel, metricsAddress, miner, metrics: true);
            }
        });

        builder.Services.AddSingleton<JobRegistry>();
        builder.Services.AddSingleton<BatchMiner>();
        builder.Services.AddSingleton<InFlightLimit>();
        builder.Services.AddSingleton<MinerMetrics>();
        builder.Services.AddSingleton<MineStreamHandler>();
        // Enough buffers for every batch in flight plus one being read per stream.
        builder.Services.AddSingleton(new FeatureBufferPool(miner.MaxMessageBytes, miner.MaxBatchesInFlight + 4));
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = miner.MaxMessageBytes;
            grpc.MaxSendMessageSize = miner.MaxMessageBytes;
            // Outermost first: every call is counted, with the status our errors map to.
            grpc.Interceptors.Add<CallMetricsInterceptor>();
            grpc.Interceptors.Add<MinerErrorInterceptor>();
            grpc.Interceptors.Add<WriteAuthorizationInterceptor>();
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<MinerService>, MineMethodProvider>());
        // grpc.health.v1: SERVING for "" and the miner while the host runs, NOT_SERVING once it drains.
        builder.Services.AddGrpcHealthChecks(health => health.Services.Map(HardExampleMiner.Descriptor.FullName, _ => true))
            .AddCheck<DrainingHealthCheck>("draining");
        if (miner.Reflection)
        {
            builder.Services.AddGrpcReflection();
        }

        var app = builder.Build();
        // Required CUDA that cannot run fails here, at start; preferred CUDA logs its fallback once.
        OnnxSessions.ExecutionProvider(miner.Onnx, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Ohem.Onnx"));
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var health = app.Services.GetRequiredService<HealthServiceImpl>();
        lifetime.ApplicationStopping.Register(() =>
        {
            // Watchers hear it at once, not at the next health-check publication.
            health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
            health.SetStatus(HardExampleMiner.Descriptor.FullName, HealthCheckResponse.Types.ServingStatus.NotServing);
        });
        app.UseMiddleware<RequestDrainMiddleware>();
        app.MapGrpcService<MinerService>();
        app.MapGrpcHealthChecksService();
        if (miner.Reflection)
        {
            app.MapGrpcReflectionService();
        }

        var metrics = app.Services.GetRequiredService<MinerMetrics>();
        var platformMetrics = metrics.ExportPlatformMetrics();
        lifetime.ApplicationStopped.Register(platformMetrics.Dispose);
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapGet("/healthz", (IHostApplicationLifetime lifetime) =>
            lifetime.ApplicationStopping.IsCancellationRequested ? Results.StatusCode(503) : Results.Text("ok"));
        return app;
    }

    private static void Listen(KestrelServerOptions kestrel, string address, MinerOptions miner, bool metrics)
    {
        var uri = new Uri(address);
        var tls = uri.Scheme == Uri.UriSchemeHttps;
        void Configure(ListenOptions listen)
        {
            // Cleartext HTTP/2 needs an HTTP/2-only endpoint; Prometheus scrapes HTTP/1.1.
            listen.Protocols = metrics ? HttpProtocols.Http1 : tls ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http2;
            if (tls)
            {
                var certificate = X509CertificateLoader.LoadPkcs12FromFile(
                    miner.TlsCertificate ?? throw new InvalidOperationException($"Miner:TlsCertificate is required to listen on {address}."),
                    miner.TlsCertificatePassword);
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    ClientCertificateMode = miner.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate,
                    ClientCertificateValidation = (_, _, _) => true, // the chain is the deployment's to check (mTLS proxy or CA bundle)
                });
            }
        }

        if (uri.Host is "localhost")
        {
            kestrel.ListenLocalhost(uri.Port, Configure);
        }
        else if (uri.Host is "*" or "0.0.0.0" or "[::]")
        {
            kestrel.ListenAnyIP(uri.Port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port, Configure);
        }
    }
}
