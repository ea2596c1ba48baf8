namespace Ohem.Trainer.Imaging;

/// <summary>An 8-bit colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static Rgb White => new(255, 255, 255);

    public static Rgb Red => new(255, 40, 40);

    public static Rgb Green => new(40, 220, 40);

    public static Rgb Blue => new(60, 120, 255);

    public static Rgb Yellow => new(255, 220, 0);

    public static Rgb Orange => new(255, 140, 0);
}
