using System.Runtime.CompilerServices;

namespace Ohem.Torch.Tests;

internal static class TorchTestSetup
{
    // CI has 2 cores: every libtorch call from this assembly uses 2 intra-op threads.
#pragma warning disable CA2255 // A test assembly's one-time setup, not a library's.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void UseTwoThreads() => TorchRuntime.SetThreads(2);
}
