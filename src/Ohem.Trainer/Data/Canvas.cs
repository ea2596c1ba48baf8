namespace Ohem.Trainer.Data;

/// <summary>
/// One detection image: a grey canvas with its ground truth.
/// </summary>
/// <param name="Size">Width and height in pixels.</param>
/// <param name="Pixels">Size x Size intensities in [0, 1], row-major.</param>
/// <param name="Boxes">G x 4 tight boxes (x1, y1, x2, y2) in pixels: integers, x2 - x1 = width of the drawn item.</param>
/// <param name="Classes">G classes, 1..10 (Fashion-MNIST label + 1; 0 is background).</param>
/// <param name="Distractors">D x 4 boxes of the hard negatives drawn (background: no class).</param>
/// <param name="DistractorKinds">D kinds, one per distractor box.</param>
public sealed record Canvas(int Size, float[] Pixels, float[] Boxes, int[] Classes, float[] Distractors, HardNegativeKind[] DistractorKinds)
{
    /// <summary>Number of objects (ground-truth boxes), G.</summary>
    public int ObjectCount => Classes.Length;

    /// <summary>Number of hard negatives, D.</summary>
    public int DistractorCount => DistractorKinds.Length;
}
