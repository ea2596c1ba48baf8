namespace Ohem.Core.Selection;

/// <summary>
/// The "hardest first" order of the ranking policies as one 64-bit key per RoI: ascending key order
/// is loss descending, then RoI index ascending (the same order <see cref="Nms"/> visits boxes in).
/// Packing both into a <see cref="ulong"/> makes the order a plain integer sort with no comparer and
/// no ties, so partial selection and full sorts agree exactly.
/// </summary>
internal static class HardnessKey
{
    public static ulong Of(float loss, int index) => ((ulong)DescendingBits(loss) << 32) | (uint)index;

    public static int Index(ulong key) => (int)(uint)key;

    /// <summary>Maps a finite float to a key whose ascending order is the float's descending order.</summary>
    private static uint DescendingBits(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value + 0f); // + 0f folds -0 into +0: they tie
        var ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ~ascending;
    }
}
