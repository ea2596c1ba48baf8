using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ohem.Trainer.Tests.Support;

/// <summary>
/// The miner service as its own process (Ohem.Service.dll from the test's output, the way
/// scripts/main.sh runs it) on fixed loopback ports, so that it can be killed outright and
/// started again where the trainer looks for it. Dispose kills it.
/// </summary>
internal sealed class MinerProcess : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private MinerProcess(Process process, int port, int metricsPort)
    {
        _process = process;
        Port = port;
        MetricsPort = metricsPort;
    }

    public int Port { get; }

    public int MetricsPort { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    /// <summary>What the process printed, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts the miner on <paramref name="port"/> (a free one when 0) and waits for its health check.</summary>
    public static async Task<MinerProcess> StartAsync(int port = 0, int metricsPort = 0)
    {
        port = port == 0 ? FreePort() : port;
        metricsPort = metricsPort == 0 ? FreePort() : metricsPort;
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path) ? path : "dotnet";
        var info = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "Ohem.Service.dll"),
            "--Miner:Listen", $"http://127.0.0.1:{port}",
            "--Miner:MetricsListen", $"http://127.0.0.1:{metricsPort}",
            "--Miner:Onnx:IntraOpThreads", "1",
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var miner = new MinerProcess(process, port, metricsPort);
        process.OutputDataReceived += (_, e) => miner.Append(e.Data);
        process.ErrorDataReceived += (_, e) => miner.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await miner.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            return miner;
        }
        catch
        {
            miner.Dispose();
            throw;
        }
    }

    /// <summary>The miner's /metrics text.</summary>
    public Task<string> ScrapeAsync() => Http.GetStringAsync(new Uri($"http://127.0.0.1:{MetricsPort}/metrics"));

    /// <summary>SIGKILL: no drain, no goodbye, streams cut mid-batch.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(30_000);
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the miner exited with {_process.ExitCode} before it was healthy. Log:\n{Log}");
            }

            try
            {
                using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{MetricsPort}/healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // not answering yet
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the miner was not healthy within {timeout}. Log:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Append(line).Append('\n');
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
