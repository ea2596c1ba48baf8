namespace Ohem.Onnx.Export;

/// <summary>
/// One named float32 tensor of a scoring model: the initializer name (the name the trainer
/// publishes the weight under) and its shape, row-major (PyTorch's <c>nn.Linear</c> layout
/// [out, in] for a weight).
/// </summary>
/// <param name="Name">The initializer name, e.g. <c>fc6.weight</c>.</param>
/// <param name="Shape">Dimensions, each at least 1; copied. Treat the property as read-only.</param>
public sealed record WeightSpec(string Name, int[] Shape)
{
    /// <summary>The initializer name.</summary>
    public string Name { get; } = string.IsNullOrEmpty(Name)
        ? throw new ArgumentException("A weight needs a non-empty name.", nameof(Name))
        : Name;

    /// <summary>The dimensions (a private copy; do not modify).</summary>
#pragma warning disable CA1819 // The record's contract is int[] (dims for ONNX and native APIs); the array is a private copy.
    public int[] Shape { get; } = CopyShape(Name, Shape, nameof(Shape));
#pragma warning restore CA1819

    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public int ElementCount { get; } = Count(Name, Shape, nameof(Shape));

    /// <summary>"[16, 36]": the shape as the error messages and the manifest write it.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>Equal when the names are equal (ordinal) and the shapes are equal element by element.</summary>
    public bool Equals(WeightSpec? other) =>
        other is not null && string.Equals(Name, other.Name, StringComparison.Ordinal) && Shape.AsSpan().SequenceEqual(other.Shape);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Name, StringComparer.Ordinal);
        foreach (var dim in Shape)
        {
            hash.Add(dim);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} {ShapeText}";

    private static int[] CopyShape(string name, int[] shape, string paramName)
    {
        ArgumentNullException.ThrowIfNull(shape, paramName);
        var copy = shape.ToArray();
        for (var i = 0; i < copy.Length; i++)
        {
            if (copy[i] < 1)
            {
                throw new ArgumentException(
                    $"{name} dimension {i} is {copy[i]}; expected at least 1.", paramName);
            }
        }

        return copy;
    }

    private static int Count(string name, int[] shape, string paramName)
    {
        var count = 1L;
        foreach (var dim in shape)
        {
            count *= dim;
            if (count > Array.MaxLength)
            {
                throw new ArgumentException(
                    $"{name} [{string.Join(", ", shape)}] has more than {Array.MaxLength} elements (one .NET array).", paramName);
            }
        }

        return (int)count;
    }
}
