namespace Ohem.Testing;

/// <summary>
/// Debian's python3-grpcio (1.51) and python3-grpc-tools, the third-party gRPC implementation we
/// check against. They import only in Debian's interpreter (/usr/bin/python3; OHEM_PYTHON overrides),
/// not the pyenv python3 that comes first on PATH.
/// </summary>
internal static class Grpcio
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    public static string Python => Environment.GetEnvironmentVariable("OHEM_PYTHON") ?? "/usr/bin/python3";

    /// <summary>Null when grpcio and grpc_tools import; otherwise why not.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>A script copied beside the tests, under Interop/.</summary>
    public static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "Interop", name);

    /// <summary>
    /// Generates Python stubs of <paramref name="protoFiles"/> (relative to <paramref name="protoRoot"/>)
    /// into <paramref name="directory"/> with grpc_tools.protoc.
    /// </summary>
    public static async Task GenerateStubsAsync(string directory, string protoRoot, params string[] protoFiles)
    {
        using var protoc = PythonProcess.Start(
            ["-m", "grpc_tools.protoc", "-I" + protoRoot, "--python_out=" + directory, "--grpc_python_out=" + directory, .. protoFiles]);
        var exit = await protoc.WaitForExitAsync(TimeSpan.FromSeconds(60));
        if (exit != 0)
        {
            throw new InvalidOperationException($"grpc_tools.protoc failed ({exit}):\n{protoc.Log}");
        }
    }

    private static string? Probe()
    {
        try
        {
            using var probe = PythonProcess.Start(["-c", "import grpc, grpc_tools.protoc; print(grpc.__version__)"]);
            var exit = probe.WaitForExitAsync(TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
            return exit == 0 ? null : $"{Python} cannot import grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools):\n{probe.Log}";
        }
        catch (Exception ex) when (ex is TimeoutException or System.ComponentModel.Win32Exception)
        {
            return $"{Python} could not be run ({ex.Message}): install python3-grpcio and python3-grpc-tools";
        }
    }
}
