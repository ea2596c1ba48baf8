using System.Runtime.CompilerServices;

namespace Ohem.Torch.Tests;

internal static class TorchTestSetup
{
    // Every libtorch call from this assembly uses one intra-op thread: the tests compare runs bit
    // for bit, which libtorch 2.10 holds at one thread only (at two, the same training step run on
    // different calling threads differed in the last bits in 4 of 6 tries, the first call in a
    // thread most often). The trainer's tests run at two.
#pragma warning disable CA2255 // A test assembly's one-time setup, not a library's.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void UseOneThread() => TorchRuntime.SetThreads(1);
}
