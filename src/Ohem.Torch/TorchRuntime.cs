using System.Runtime.InteropServices;
using TorchSharp;

namespace Ohem.Torch;

/// <summary>Process-wide libtorch settings, and the loading of TorchSharp's native library.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<bool> Loaded = new(LoadNative, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int _requestedThreads;

    /// <summary>
    /// The intra-op threads every later libtorch call uses, from whichever thread it comes (the
    /// engine applies the count per calling thread, since OpenMP keeps it per thread). Call it at
    /// start-up; without it libtorch picks its own default.
    /// </summary>
    public static void SetThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Volatile.Write(ref _requestedThreads, threads);
        Enter();
    }

    /// <summary>The intra-op threads the calling thread's next libtorch call uses.</summary>
    public static int Threads
    {
        get
        {
            Enter();
            return torch.get_num_threads();
        }
    }

    /// <summary>LibTorch's and TorchSharp's versions, e.g. "2.10.0 (TorchSharp 0.107.0)".</summary>
    public static string Version
    {
        get
        {
            Enter();
            return $"{torch.__version__} (TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)})";
        }
    }

    /// <summary>Loads the native library once and applies the requested thread count on this thread.</summary>
    internal static void Enter()
    {
        _ = Loaded.Value;
        var threads = Volatile.Read(ref _requestedThreads);
        if (threads > 0 && torch.get_num_threads() != threads)
        {
            torch.set_num_threads(threads);
        }
    }

    // Load the build's copy of libLibTorchSharp.so by its path before TorchSharp's own loader runs:
    // that copy is the one the build made loadable (Ohem.Torch.Patch), and once it is loaded
    // TorchSharp never falls back to copying unpatched natives out of the NuGet cache into cpu/.
    private static bool LoadNative()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            var path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
            if (File.Exists(path))
            {
                try
                {
                    NativeLibrary.Load(path);
                }
                catch (DllNotFoundException e)
                {
                    throw new TorchException(
                        $"TorchSharp's native library does not load: {e.Message}. The build marks libstdc++ versions this machine lacks "
                        + "as weak in that copy (Ohem.Torch.Patch): rebuild, or install a libstdc++ from GCC 13 or newer.", e);
                }
            }
        }

        return TorchException.Wrap("load libtorch", () => torch.TryInitializeDeviceType(DeviceType.CPU));
    }
}
