using Ohem.Onnx.Native;

namespace Ohem.Onnx;

/// <summary>One input or output of a session: name, element type, dimensions (-1 where symbolic).</summary>
public sealed record NodeMetadata(string Name, OrtElementType ElementType, long[] Dimensions)
{
    public int Rank => Dimensions.Length;

    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join(", ", Dimensions.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}
