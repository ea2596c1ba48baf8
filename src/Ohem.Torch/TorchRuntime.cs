using System.Runtime.InteropServices;
using Ohem.Torch.Native;

namespace Ohem.Torch;

/// <summary>Process-wide libtorch settings.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<string> VersionText = new(() =>
    {
        TorchNative.Check(TorchNative.ohem_torch_version(out var text), "version");
        return Marshal.PtrToStringUTF8(text) ?? string.Empty;
    });

    /// <summary>
    /// The intra-op threads every later libtorch call uses, from whichever thread it comes (the
    /// shim applies the count per calling thread, since OpenMP keeps it per thread). Call it at
    /// start-up; without it libtorch (and OpenBLAS) pick their own defaults.
    /// </summary>
    public static void SetThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        TorchNative.Check(TorchNative.ohem_torch_set_threads(threads), "set threads");
    }

    /// <summary>The intra-op threads the calling thread's next libtorch call uses.</summary>
    public static int Threads
    {
        get
        {
            TorchNative.Check(TorchNative.ohem_torch_get_threads(out var threads), "get threads");
            return threads;
        }
    }

    /// <summary>libtorch's version and parallel backend, e.g. "1.13.0 (ATen/Parallel: ...)".</summary>
    public static string Version => VersionText.Value;
}
