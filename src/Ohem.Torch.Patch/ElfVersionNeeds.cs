using System.Buffers.Binary;
using System.Text;

namespace Ohem.Torch.Patch;

/// <summary>What <see cref="ElfVersionNeeds.MarkMissingWeak"/> did to a library.</summary>
/// <param name="Marked">The versions this call marked weak (empty when nothing changed).</param>
/// <param name="Missing">The needed versions of <c>libstdc++.so.6</c> the machine lacks (weak already or just marked).</param>
public sealed record PatchOutcome(IReadOnlyList<string> Marked, IReadOnlyList<string> Missing);

/// <summary>
/// Reads and edits the symbol-version tables of an ELF64 little-endian shared library: the versions
/// a library defines (.gnu.version_d) and the ones it needs (.gnu.version_r). A needed version marked
/// weak (VER_FLG_WEAK in vna_flags) no longer stops the dynamic loader when the provider lacks it;
/// that is only safe when no relocation binds a symbol of that version, which is checked first.
/// </summary>
public static class ElfVersionNeeds
{
    /// <summary>The library whose needs are checked.</summary>
    public const string Libstdcxx = "libstdc++.so.6";

    private const uint ShtRela = 4, ShtRel = 9, ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>The version names <paramref name="library"/> defines (GLIBCXX_3.4, ..., for libstdc++).</summary>
    public static IReadOnlySet<string> DefinedVersions(string library)
    {
        var elf = Elf.Read(File.ReadAllBytes(library), library);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var section in elf.Sections.Where(s => s.Type == ShtGnuVerdef))
        {
            var strings = elf.Sections[(int)section.Link];
            var at = section.Offset;
            for (var i = 0; i < section.Info; i++)
            {
                var aux = at + elf.U32(at + 12);
                names.Add(elf.String(strings, elf.U32(aux))); // the first verdaux names the version itself
                var next = elf.U32(at + 16);
                if (next == 0)
                {
                    break;
                }

                at += next;
            }
        }

        return names;
    }

    /// <summary>
    /// Marks weak every version <paramref name="path"/> needs from libstdc++.so.6 that
    /// <paramref name="provided"/> lacks, writing the file only when a flag changes (and then as a new
    /// file, so a hard link into the NuGet cache is never edited in place).
    /// </summary>
    /// <exception cref="InvalidOperationException">A relocation binds a symbol of a missing version:
    /// marking it weak would leave that symbol unresolved, so the machine needs a newer libstdc++.</exception>
    public static PatchOutcome MarkMissingWeak(string path, IReadOnlySet<string> provided)
    {
        var bytes = File.ReadAllBytes(path);
        var elf = Elf.Read(bytes, path);
        var missing = new List<(string Name, int Flags, ushort Index)>();
        foreach (var section in elf.Sections.Where(s => s.Type == ShtGnuVerneed))
        {
            var strings = elf.Sections[(int)section.Link];
            var need = section.Offset;
            for (var i = 0; i < section.Info; i++)
            {
                var file = elf.String(strings, elf.U32(need + 4));
                var aux = need + elf.U32(need + 8);
                for (var k = 0; k < elf.U16(need + 2); k++)
                {
                    var name = elf.String(strings, elf.U32(aux + 8));
                    if (file == Libstdcxx && !provided.Contains(name))
                    {
                        missing.Add((name, (int)aux + 4, elf.U16(aux + 6)));
                    }

                    aux += elf.U32(aux + 12);
                }

                var next = elf.U32(need + 12);
                if (next == 0)
                {
                    break;
                }

                need += next;
            }
        }

        if (missing.Count == 0)
        {
            return new PatchOutcome([], []);
        }

        var bound = BoundVersionIndices(elf);
        var used = missing.Where(m => bound.Contains(m.Index)).Select(m => m.Name).ToList();
        if (used.Count > 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(path)} binds symbols of {string.Join(", ", used)}, which this machine's libstdc++ lacks: "
                + "install a libstdc++ from GCC 13 or newer (e.g. Debian 13, Ubuntu 24.04).");
        }

        var marked = new List<string>();
        foreach (var (name, flags, _) in missing)
        {
            var value = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(flags));
            if ((value & VerFlagWeak) == 0)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(flags), (ushort)(value | VerFlagWeak));
                marked.Add(name);
            }
        }

        if (marked.Count > 0)
        {
            var temporary = path + ".patching";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }

        return new PatchOutcome(marked, [.. missing.Select(m => m.Name)]);
    }

    /// <summary>The version indices (.gnu.version entries) of every symbol a relocation refers to.</summary>
    private static HashSet<ushort> BoundVersionIndices(Elf elf)
    {
        var indices = new HashSet<ushort>();
        foreach (var relocations in elf.Sections.Where(s => s.Type is ShtRela or ShtRel))
        {
            var versions = elf.Sections.FirstOrDefault(s => s.Type == ShtGnuVersym && s.Link == relocations.Link);
            if (versions is null)
            {
                continue;
            }

            var size = relocations.Type == ShtRela ? 24 : 16;
            for (var at = relocations.Offset; at + size <= relocations.Offset + relocations.Size; at += size)
            {
                var symbol = elf.U64(at + 8) >> 32;
                if (symbol != 0)
                {
                    indices.Add((ushort)(elf.U16(versions.Offset + (long)(2 * symbol)) & 0x7fff));
                }
            }
        }

        return indices;
    }

    private sealed record Section(uint Type, long Offset, long Size, uint Link, uint Info);

    private sealed class Elf
    {
        private readonly byte[] _bytes;
        private readonly string _path;

        private Elf(byte[] bytes, string path, List<Section> sections)
        {
            _bytes = bytes;
            _path = path;
            Sections = sections;
        }

        public List<Section> Sections { get; }

        public static Elf Read(byte[] bytes, string path)
        {
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F' || bytes[4] != 2 || bytes[5] != 1)
            {
                throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file.");
            }

            var elf = new Elf(bytes, path, []);
            var table = (long)elf.U64(0x28);
            var entry = elf.U16(0x3A);
            var count = elf.U16(0x3C);
            var sections = new List<Section>(count);
            for (var i = 0; i < count; i++)
            {
                var at = table + (i * entry);
                sections.Add(new Section(elf.U32(at + 4), (long)elf.U64(at + 0x18), (long)elf.U64(at + 0x20), elf.U32(at + 0x28), elf.U32(at + 0x2C)));
            }

            return new Elf(bytes, path, sections);
        }

        public ushort U16(long at) => BinaryPrimitives.ReadUInt16LittleEndian(Span(at, 2));

        public uint U32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(Span(at, 4));

        public ulong U64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(Span(at, 8));

        public string String(Section table, uint offset)
        {
            var start = table.Offset + offset;
            var rest = Span(start, (int)Math.Min(table.Size - offset, _bytes.Length - start));
            var end = rest.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
        }

        private ReadOnlySpan<byte> Span(long at, int length) =>
            at >= 0 && length >= 0 && at + length <= _bytes.Length
                ? _bytes.AsSpan((int)at, length)
                : throw new InvalidDataException($"{_path}: offset {at} (+{length}) lies outside the file ({_bytes.Length} bytes).");
    }
}
