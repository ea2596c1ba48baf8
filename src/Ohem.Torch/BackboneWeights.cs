using System.Runtime.InteropServices;

namespace Ohem.Torch;

/// <summary>
/// A backbone's parameters on disk (what <c>pretrain</c> writes and <see cref="Detector.LoadBackbone"/>
/// starts a detector from): a magic line, then per parameter its name
/// (<c>backbone.conv1.weight</c>, ...), shape and float32 values. Written beside and renamed, so a
/// crash never leaves a torn file under the name.
/// </summary>
public static class BackboneWeights
{
    private const string Magic = "OHEM-BACKBONE-1";

    /// <summary>Writes <paramref name="parameters"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, IReadOnlyList<(TorchParameter Info, float[] Values)> parameters)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(parameters);
        var temporary = path + ".partial";
        using (var writer = new BinaryWriter(File.Create(temporary)))
        {
            writer.Write(Magic);
            writer.Write(parameters.Count);
            foreach (var (info, values) in parameters)
            {
                if (values.Length != info.ElementCount)
                {
                    throw new ArgumentException($"{info} holds {values.Length} values; its shape needs {info.ElementCount}.", nameof(parameters));
                }

                writer.Write(info.Name);
                writer.Write(info.Shape.Length);
                foreach (var dim in info.Shape)
                {
                    writer.Write(dim);
                }

                writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads what <see cref="Save"/> wrote.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a backbone weights file, or cut short.</exception>
    public static IReadOnlyList<(TorchParameter Info, float[] Values)> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No backbone weights at {path}; expected a file written by `pretrain`.", path);
        }

        using var reader = new BinaryReader(File.OpenRead(path));
        try
        {
            if (reader.ReadString() != Magic)
            {
                throw new InvalidDataException($"{path} is not a backbone weights file (written by `pretrain`).");
            }

            var count = reader.ReadInt32();
            if (count is < 0 or > 4096)
            {
                throw new InvalidDataException($"{path} claims {count} parameters; expected 0..4096.");
            }

            var parameters = new List<(TorchParameter, float[])>(count);
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var shape = new long[reader.ReadInt32()];
                for (var d = 0; d < shape.Length; d++)
                {
                    shape[d] = reader.ReadInt64();
                }

                var info = new TorchParameter(name, shape);
                var remaining = reader.BaseStream.Length - reader.BaseStream.Position;
                if (shape.Any(d => d < 0) || info.ElementCount * sizeof(float) > remaining)
                {
                    throw new InvalidDataException($"{path}: parameter '{name}' {info.ShapeText} does not fit in the {remaining} bytes left.");
                }

                var values = new float[info.ElementCount];
                reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                parameters.Add((info, values));
            }

            return parameters;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} ends early; expected a backbone weights file written by `pretrain`.", e);
        }
    }
}
