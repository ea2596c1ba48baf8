using System.Runtime.InteropServices;
using Ohem.Torch.Patch;

// Usage: Ohem.Torch.Patch <libLibTorchSharp.so>...
// Marks weak, in each file, the libstdc++ versions it needs that this machine's libstdc++ lacks
// (one line per file that changed); exits 1 with what to install when a relocation uses one.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Ohem.Torch.Patch <shared library>...");
    return 2;
}

var libstdcxx = MachineLibstdcxx.Find();
var provided = ElfVersionNeeds.DefinedVersions(libstdcxx);
try
{
    foreach (var path in args.Where(File.Exists))
    {
        var outcome = ElfVersionNeeds.MarkMissingWeak(path, provided);
        if (outcome.Marked.Count > 0)
        {
            Console.WriteLine($"Ohem.Torch.Patch: marked {string.Join(", ", outcome.Marked)} weak in {path} ({libstdcxx} lacks it; no relocation uses it)");
        }
    }
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

return 0;

/// <summary>Where the dynamic loader finds libstdc++.so.6 on this machine.</summary>
internal static class MachineLibstdcxx
{
    public static string Find()
    {
        // Ask the loader itself: load it by name and read the path it mapped.
        NativeLibrary.Free(NativeLibrary.Load(ElfVersionNeeds.Libstdcxx));
        var mapped = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && Path.GetFileName(fields[5]).StartsWith("libstdc++.so", StringComparison.Ordinal))
            .Select(fields => fields[5])
            .FirstOrDefault();
        return mapped ?? throw new FileNotFoundException("The dynamic loader found no libstdc++.so.6 on this machine.");
    }
}
