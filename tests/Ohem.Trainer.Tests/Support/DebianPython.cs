using System.Diagnostics;
using System.Text;

namespace Ohem.Trainer.Tests.Support;

/// <summary>
/// Debian's /usr/bin/python3 (OHEM_PYTHON overrides), the independent side of the reference checks:
/// only it imports Debian's numpy and PIL (the pyenv python3 first on PATH cannot).
/// </summary>
internal static class DebianPython
{
    private static readonly Lazy<string?> NoPython = new(() => Probe("import sys"));
    private static readonly Lazy<string?> NoNumpy = new(() => Probe("import numpy"));
    private static readonly Lazy<string?> NoPillow = new(() => Probe("import PIL.Image"));

    public static string Executable => Environment.GetEnvironmentVariable("OHEM_PYTHON") ?? "/usr/bin/python3";

    public static string? PythonUnavailable => NoPython.Value;

    public static string? NumpyUnavailable => NoNumpy.Value;

    public static string? PillowUnavailable => NoPillow.Value;

    /// <summary>A script copied beside the tests from tools/reference.</summary>
    public static string ReferenceScript(string name) => Path.Combine(AppContext.BaseDirectory, "reference", name);

    /// <summary>Runs python with <paramref name="arguments"/>; returns stdout, or fails with the exit code and stderr.</summary>
    public static string Run(params string[] arguments)
    {
        var info = new ProcessStartInfo(Executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{Executable} did not start.");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Executable} {string.Join(' ', arguments)} ran over 120 s.");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            lock (stderr)
            {
                throw new InvalidOperationException($"{Executable} exited with {process.ExitCode}:\n{stderr}");
            }
        }

        return stdout.GetAwaiter().GetResult();
    }

    private static string? Probe(string statement)
    {
        if (!File.Exists(Executable))
        {
            return $"{Executable} not found (Debian's python3)";
        }

        try
        {
            Run("-c", statement);
            return null;
        }
        catch (InvalidOperationException e)
        {
            return $"{Executable} cannot run '{statement}': {e.Message}";
        }
    }
}
