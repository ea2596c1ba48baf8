using Ohem.Torch;

namespace Ohem.Trainer.Cli;

/// <summary>How a command fails: one readable line on stderr and a distinct exit code.</summary>
internal static class Cli
{
    /// <summary>Exit code of bad arguments or input files.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code of a failure in the engine or the environment (libtorch, data missing).</summary>
    public const int RuntimeError = 1;

    public static int Run(Func<int> command)
    {
        try
        {
            return command();
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            Error(e.Message);
            return UsageError;
        }
        catch (Exception e) when (e is TorchException or DllNotFoundException or InvalidOperationException or IOException)
        {
            Error(e.Message);
            return RuntimeError;
        }
    }

    private static void Error(string message) => Console.Error.WriteLine($"error: {message}");
}
