using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Ohem.Testing;

/// <summary>A child Python process with its output captured line by line; every wait is bounded and Dispose kills it.</summary>
internal sealed class PythonProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _log = new();

    private PythonProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Everything the process printed so far (stdout and stderr), for failure messages.</summary>
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

    public static PythonProcess Start(IEnumerable<string> arguments, string? pythonPath = null)
    {
        var info = new ProcessStartInfo(Grpcio.Python)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (pythonPath is not null)
        {
            info.Environment["PYTHONPATH"] = pythonPath;
        }

        // grpcio must not route 127.0.0.1 through a proxy from the environment.
        info.Environment["no_proxy"] = "127.0.0.1,localhost";
        info.Environment["NO_PROXY"] = "127.0.0.1,localhost";
        var process = new Process { StartInfo = info };
        var python = new PythonProcess(process);
        process.OutputDataReceived += (_, e) => python.OnLine(e.Data, stdout: true);
        process.ErrorDataReceived += (_, e) => python.OnLine(e.Data, stdout: false);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return python;
    }

    /// <summary>The next stdout line; fails with the log if none comes within <paramref name="timeout"/> or the process ends.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (await _lines.Reader.WaitToReadAsync(cts.Token) && _lines.Reader.TryRead(out var line))
            {
                return line;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No output from Python within {timeout}. Log:\n{Log}");
        }

        throw new InvalidOperationException($"Python ended without the expected output. Log:\n{Log}");
    }

    /// <summary>Waits for the exit code; kills the process and fails if it takes longer than <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Python did not finish within {timeout}. Log:\n{Log}");
        }

        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(TimeSpan.FromSeconds(3)))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(TimeSpan.FromSeconds(5));
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(string? line, bool stdout)
    {
        if (line is null)
        {
            if (stdout)
            {
                _lines.Writer.TryComplete();
            }

            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }

        if (stdout)
        {
            _lines.Writer.TryWrite(line);
        }
    }
}
