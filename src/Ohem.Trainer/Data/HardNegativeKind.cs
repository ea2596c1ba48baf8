namespace Ohem.Trainer.Data;

/// <summary>What a hard negative on a canvas is: background that looks like an item.</summary>
public enum HardNegativeKind
{
    /// <summary>A cropped piece of an item (30-50% of its sides), away from every object.</summary>
    Fragment,

    /// <summary>A striped texture with an item's size and intensity, away from every object.</summary>
    Texture,

    /// <summary>A fragment placed touching an object's side, so boxes over both nearly match the object.</summary>
    NearMiss,
}
