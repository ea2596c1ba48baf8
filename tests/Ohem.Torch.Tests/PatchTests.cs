using System.Reflection;
using FsCheck;
using FsCheck.Fluent;
using Ohem.Testing;
using Ohem.Torch.Patch;

namespace Ohem.Torch.Tests;

/// <summary>
/// Ohem.Torch.Patch on copies of TorchSharp's libLibTorchSharp.so from the NuGet cache, with the
/// machine's libstdc++ versions given explicitly (so the tests mean the same on any machine), and
/// the loading of the build's copy.
/// </summary>
public sealed class PatchTests : IDisposable
{
    private static readonly string Pristine = Path.Combine(
        typeof(PatchTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NuGetPackageRoot").Value!,
        "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private readonly string _directory = Directory.CreateTempSubdirectory("ohem-patch-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // libstdc++ of GCC 12 (Debian 12): GLIBCXX_3.4 .. 3.4.30, CXXABI_1.3 .. 1.3.13.
    private static readonly IReadOnlySet<string> Gcc12 = new HashSet<string>(
        Enumerable.Range(0, 31).Select(v => v == 0 ? "GLIBCXX_3.4" : $"GLIBCXX_3.4.{v}")
            .Concat(Enumerable.Range(0, 14).Select(v => v == 0 ? "CXXABI_1.3" : $"CXXABI_1.3.{v}")), StringComparer.Ordinal);

    private string Copy(string name = "libLibTorchSharp.so")
    {
        var path = Path.Combine(_directory, name);
        File.Copy(Pristine, path, overwrite: true);
        return path;
    }

    [Fact]
    public void On_gcc_12s_libstdcxx_only_the_flag_of_the_3_4_32_need_changes_and_a_second_run_changes_nothing()
    {
        var path = Copy();
        var outcome = ElfVersionNeeds.MarkMissingWeak(path, Gcc12);
        Assert.Equal(["GLIBCXX_3.4.32"], outcome.Marked);
        var before = File.ReadAllBytes(Pristine);
        var after = File.ReadAllBytes(path);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        var at = Assert.Single(changed);
        Assert.Equal(before[at] | 0x2, after[at]); // VER_FLG_WEAK in that entry's vna_flags, nothing else

        var again = ElfVersionNeeds.MarkMissingWeak(path, Gcc12);
        Assert.Empty(again.Marked);
        Assert.Equal(["GLIBCXX_3.4.32"], again.Missing);
        Assert.Equal(after, File.ReadAllBytes(path));
    }

    [Fact]
    public void With_a_libstdcxx_that_has_every_version_nothing_changes()
    {
        var path = Copy();
        var newer = new HashSet<string>(Gcc12.Concat(["GLIBCXX_3.4.31", "GLIBCXX_3.4.32", "GLIBCXX_3.4.33"]), StringComparer.Ordinal);
        var stamp = File.GetLastWriteTimeUtc(path);
        var outcome = ElfVersionNeeds.MarkMissingWeak(path, newer);
        Assert.Empty(outcome.Marked);
        Assert.Empty(outcome.Missing);
        Assert.Equal(File.ReadAllBytes(Pristine), File.ReadAllBytes(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void A_missing_version_a_relocation_uses_fails_naming_it_and_leaves_the_file_alone()
    {
        var path = Copy();
        var older = new HashSet<string>(Gcc12.Where(v => v != "GLIBCXX_3.4.21"), StringComparer.Ordinal); // std::__cxx11 strings
        var e = Assert.Throws<InvalidOperationException>(() => ElfVersionNeeds.MarkMissingWeak(path, older));
        Assert.Contains("GLIBCXX_3.4.21", e.Message, StringComparison.Ordinal);
        Assert.Contains("GCC 13", e.Message, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(Pristine), File.ReadAllBytes(path));
    }

    [Fact]
    public void Any_machine_either_fails_untouched_or_gets_only_weak_flags_idempotently() =>
        // Drop any few versions from GCC 12's set: the patch either refuses (file untouched) or sets
        // only bit 0x2 in some bytes, and a second run changes nothing.
        Properties.Check(Prop.ForAll(Gen.SubListOf([.. Gcc12, "GLIBCXX_3.4.32"]).Select(l => l.Take(3).ToArray()).ToArbitrary(), dropped =>
        {
            var path = Copy();
            var provided = new HashSet<string>(Gcc12.Concat(["GLIBCXX_3.4.32"]).Except(dropped), StringComparer.Ordinal);
            var before = File.ReadAllBytes(Pristine);
            try
            {
                ElfVersionNeeds.MarkMissingWeak(path, provided);
            }
            catch (InvalidOperationException)
            {
                return before.AsSpan().SequenceEqual(File.ReadAllBytes(path));
            }

            var after = File.ReadAllBytes(path);
            var onlyWeakBits = Enumerable.Range(0, before.Length).All(i => after[i] == before[i] || after[i] == (before[i] | 0x2));
            var second = ElfVersionNeeds.MarkMissingWeak(path, provided);
            return onlyWeakBits && second.Marked.Count == 0 && after.AsSpan().SequenceEqual(File.ReadAllBytes(path));
        }), 12);

    [Fact]
    public void The_build_copy_in_the_output_folder_is_the_loaded_one_and_torch_runs()
    {
        var copy = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(copy), copy);
        Assert.StartsWith("2.10.0", TorchRuntime.Version, StringComparison.Ordinal);
        var mapped = File.ReadLines("/proc/self/maps").Where(l => l.EndsWith("libLibTorchSharp.so", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf('/', StringComparison.Ordinal))..]).Distinct().ToList();
        Assert.Equal([copy], mapped);
        var machine = ElfVersionNeeds.DefinedVersions(File.ReadLines("/proc/self/maps")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).First(f => f.Length >= 6 && f[5].Contains("libstdc++.so", StringComparison.Ordinal))[5]);
        var outcome = ElfVersionNeeds.MarkMissingWeak(Copy("check.so"), machine);
        // What the build did to the output copy is what the patch does to a fresh copy on this machine.
        Assert.Equal(File.ReadAllBytes(Path.Combine(_directory, "check.so")), File.ReadAllBytes(copy));
        Assert.Equal(machine.Contains("GLIBCXX_3.4.32") ? [] : ["GLIBCXX_3.4.32"], outcome.Marked);
    }
}
