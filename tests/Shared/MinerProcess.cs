using System.Diagnostics;
using System.Text;
namespace Ohem.Testing;

/// <summary>
/// The miner service as its own process (Ohem.Service.dll from the test's output, the way
/// scripts/main.sh runs it) on fixed loopback ports, so that it can be killed outright and
/// started again where the trainer looks for it. Its ports stay reserved (<see cref="ReservedPort"/>)
/// so that no server of a test running in parallel takes them. Dispose kills it.
/// </summary>
internal sealed class MinerProcess : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly ReservedPort[] _owned;

    private MinerProcess(Process process, int port, int metricsPort, ReservedPort[] owned)
    {
        _process = process;
        Port = port;
        MetricsPort = metricsPort;
        _owned = owned;
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

    /// <summary>The process id (for its memory in /proc).</summary>
    public int ProcessId => _process.Id;

    /// <summary>
    /// Starts the miner on the reserved ports given (the caller's, to restart it there later), or on
    /// ports it reserves itself, and waits for its health check. <paramref name="settings"/> are
    /// more configuration keys and values, as on its command line.
    /// </summary>
    public static async Task<MinerProcess> StartAsync(ReservedPort? grpc = null, ReservedPort? metrics = null, params (string Key, string Value)[] settings)
    {
        ReservedPort[] owned = [.. new[] { grpc is null ? ReservedPort.Reserve() : null, metrics is null ? ReservedPort.Reserve() : null }.OfType<ReservedPort>()];
        var port = (grpc ?? owned[0]).Port;
        var metricsPort = (metrics ?? owned[^1]).Port;
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path) ? path : "dotnet";
        var info = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        string[] arguments =
        [
            Path.Combine(AppContext.BaseDirectory, "Ohem.Service.dll"),
            "--Miner:Listen", $"http://127.0.0.1:{port}",
            "--Miner:MetricsListen", $"http://127.0.0.1:{metricsPort}",
            "--Miner:Onnx:IntraOpThreads", "1",
            .. settings.SelectMany(s => new[] { "--" + s.Key, s.Value }),
        ];
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var miner = new MinerProcess(process, port, metricsPort, owned);
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
            foreach (var reserved in _owned)
            {
                reserved.Dispose();
            }
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
}
