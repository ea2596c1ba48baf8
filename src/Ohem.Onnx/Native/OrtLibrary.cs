using System.Runtime.InteropServices;

namespace Ohem.Onnx.Native;

/// <summary>
/// Finds and loads ONNX Runtime's native library and its API table. Looked up in order: an
/// explicit path (configuration), the ORT_LIBRARY_PATH environment variable (a user's own build,
/// e.g. the native files of Microsoft.ML.OnnxRuntime.Gpu.Linux, which carry the CUDA provider),
/// then beside our binaries (what the build fetched from npm).
/// </summary>
internal static unsafe class OrtLibrary
{
    /// <summary>Lowest C API version whose table has every entry we call (ONNX Runtime 1.17).</summary>
    public const uint RequiredApiVersion = 17;

    public const string FileName = "libonnxruntime.so.1";

    private static readonly object Gate = new();
    private static OrtApi? _api;
    private static string? _loadedFrom;

    public static string? LoadedFrom => _loadedFrom;

    /// <summary>The API table, loading the library on first use (later paths are ignored once loaded).</summary>
    public static OrtApi Api(string? configuredPath = null)
    {
        if (_api is { } api)
        {
            return api;
        }

        lock (Gate)
        {
            return _api ??= Load(configuredPath);
        }
    }

    /// <summary>Where the library is looked for, in order.</summary>
    public static IReadOnlyList<string> Candidates(string? configuredPath)
    {
        var paths = new List<string>();
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            paths.Add(configuredPath);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable("ORT_LIBRARY_PATH");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            // Either the library itself or the folder that holds it.
            paths.Add(Directory.Exists(fromEnvironment) ? Path.Combine(fromEnvironment, FileName) : fromEnvironment);
        }

        paths.Add(Path.Combine(AppContext.BaseDirectory, FileName));
        return paths;
    }

    private static OrtApi Load(string? configuredPath)
    {
        var tried = new List<string>();
        foreach (var path in Candidates(configuredPath))
        {
            if (!File.Exists(path))
            {
                tried.Add($"{path} (not found)");
                continue;
            }

            if (!NativeLibrary.TryLoad(path, out var handle))
            {
                tried.Add($"{path} (could not be loaded)");
                continue;
            }

            if (!NativeLibrary.TryGetExport(handle, "OrtGetApiBase", out var getApiBase))
            {
                tried.Add($"{path} (no OrtGetApiBase export: not ONNX Runtime)");
                continue;
            }

            var apiBase = ((delegate* unmanaged[Cdecl]<OrtApiBase*>)getApiBase)();
            var version = Marshal.PtrToStringUTF8((nint)apiBase->GetVersionString()) ?? "?";
            var table = apiBase->GetApi(RequiredApiVersion);
            if (table is null)
            {
                tried.Add($"{path} (ONNX Runtime {version} is too old: C API version {RequiredApiVersion} needed)");
                continue;
            }

            _loadedFrom = path;
            return new OrtApi((nint*)table, version);
        }

        throw new OrtLibraryNotFoundException(
            $"ONNX Runtime's native library ({FileName}, C API version >= {RequiredApiVersion}) could not be loaded; tried: {string.Join("; ", tried)}. " +
            "Run scripts/fetch-onnxruntime.sh (the build does it), or set ORT_LIBRARY_PATH.");
    }

    /// <summary>OrtApiBase: { const OrtApi* GetApi(uint32_t version); const char* GetVersionString(void); }.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct OrtApiBase
    {
        public delegate* unmanaged[Cdecl]<uint, void*> GetApi;
        public delegate* unmanaged[Cdecl]<byte*> GetVersionString;
    }
}

/// <summary>ONNX Runtime's native library is missing or older than the C API version we need.</summary>
public sealed class OrtLibraryNotFoundException(string message) : Exception(message);
