namespace Ohem.Torch;

/// <summary>A named float32 parameter of the detector and its shape (row-major, PyTorch's layout).</summary>
/// <param name="Name">E.g. <c>backbone.conv1.weight</c>, <c>fc6.weight</c>, <c>cls_score.bias</c>.</param>
/// <param name="Shape">Dimensions; treat as read-only.</param>
#pragma warning disable CA1819 // The shape is the native API's dims, like WeightSpec's.
public sealed record TorchParameter(string Name, long[] Shape)
#pragma warning restore CA1819
{
    /// <summary>The product of <see cref="Shape"/>.</summary>
    public long ElementCount => Shape.Aggregate(1L, (count, dim) => count * dim);

    /// <summary>"[256, 6272]".</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>Equal when the names are equal (ordinal) and the shapes are equal element by element.</summary>
    public bool Equals(TorchParameter? other) =>
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

    /// <summary>"fc6.weight [256, 6272]".</summary>
    public override string ToString() => $"{Name} {ShapeText}";
}
