using System.Runtime.InteropServices;
using Ohem.Onnx.Native;

namespace Ohem.Onnx;

/// <summary>
/// The process's one ONNX Runtime environment (ORT allows one per process), with the default
/// allocator (it frees the names ORT hands out; it is never released) and CPU memory info.
/// </summary>
public sealed unsafe class OrtEnvironment
{
    private static readonly Lazy<OrtEnvironment> Shared = new(() => new OrtEnvironment(null));
    private static string? _libraryPath;

    private OrtEnvironment(string? libraryPath)
    {
        Api = OrtLibrary.Api(libraryPath);
        var api = Api;
        nint env;
        fixed (byte* id = "ohem"u8)
        {
            api.Check(api.CreateEnv(2 /* ORT_LOGGING_LEVEL_WARNING */, id, &env), "CreateEnv");
        }

        Env = new OrtEnvHandle();
        Env.Attach(env);
        nint allocator;
        api.Check(api.GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions");
        DefaultAllocator = allocator;
        nint memoryInfo;
        api.Check(api.CreateCpuMemoryInfo(1 /* OrtArenaAllocator */, 0 /* OrtMemTypeDefault */, &memoryInfo), "CreateCpuMemoryInfo");
        CpuMemory = new OrtMemoryInfoHandle();
        CpuMemory.Attach(memoryInfo);
    }

    /// <summary>
    /// Chooses the native library before first use (configuration's path; else ORT_LIBRARY_PATH,
    /// else beside the binaries). Ignored once the environment exists.
    /// </summary>
    public static void UseLibrary(string? path) => _libraryPath = path;

    public static OrtEnvironment Instance => _libraryPath is null ? Shared.Value : WithPath();

    private static OrtEnvironment WithPath()
    {
        OrtLibrary.Api(_libraryPath);
        return Shared.Value;
    }

    /// <summary>ONNX Runtime's version string, e.g. "1.30.0".</summary>
    public string Version => Api.Version;

    /// <summary>The file the native library was loaded from.</summary>
    public static string? LibraryPath => OrtLibrary.LoadedFrom;

    internal OrtApi Api { get; }

    internal OrtEnvHandle Env { get; }

    internal nint DefaultAllocator { get; }

    internal OrtMemoryInfoHandle CpuMemory { get; }

    /// <summary>
    /// Execution providers compiled into the library. Being listed does not mean a provider can
    /// run (the CUDA provider's own library may be absent): only a successful append counts.
    /// </summary>
    public IReadOnlyList<string> CompiledProviders()
    {
        byte** names;
        int count;
        Api.Check(Api.GetAvailableProviders(&names, &count), "GetAvailableProviders");
        try
        {
            var result = new string[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = Marshal.PtrToStringUTF8((nint)names[i]) ?? "";
            }

            return result;
        }
        finally
        {
            Api.Check(Api.ReleaseAvailableProviders(names, count), "ReleaseAvailableProviders");
        }
    }
}
