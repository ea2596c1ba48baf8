namespace Ohem.Core.Selection;

/// <summary>
/// Which part of the per-RoI multi-task loss a ranking policy calls "hard". The paper ranks by the
/// whole loss (classification + box regression); mmdetection's OHEMSampler ranks by the
/// classification loss alone; TF Object Detection's hard example miner can rank by the box loss
/// (its loss_type = 'loc'). Only the ranking changes: the trainer still trains the selected RoIs on
/// the whole loss.
/// </summary>
public enum HardnessLoss
{
    /// <summary>"cls+box": cross-entropy plus lambda * smooth-L1 (the paper, the default).</summary>
    ClassAndBox,

    /// <summary>"cls": cross-entropy only.</summary>
    Class,

    /// <summary>"box": lambda * smooth-L1 only (0 for background RoIs).</summary>
    Box,
}

/// <summary>The option values of <see cref="HardnessLoss"/> as policies read and print them.</summary>
public static class HardnessLossNames
{
    private static readonly (string Name, HardnessLoss Value)[] All =
        [("cls+box", HardnessLoss.ClassAndBox), ("cls", HardnessLoss.Class), ("box", HardnessLoss.Box)];

    /// <summary>Every accepted name, the default first.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(a => a.Name)];

    public static string Name(this HardnessLoss value) => All.First(a => a.Value == value).Name;

    /// <summary>Parses a name (case-insensitive); false for anything else.</summary>
    public static bool TryParse(string text, out HardnessLoss value)
    {
        foreach (var (name, v) in All)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                value = v;
                return true;
            }
        }

        value = default;
        return false;
    }
}
