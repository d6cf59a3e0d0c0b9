using System.Globalization;

namespace MlopsFunctions.Core.Data;

/// <summary>How raw CSV cells read as missing values and numbers; shared by validation, training and serving.</summary>
public static class Cells
{
    private static readonly HashSet<string> MissingTokens = new(StringComparer.OrdinalIgnoreCase)
    {
        string.Empty, "NA", "N/A", "NaN", "null", "?",
    };

    public static bool IsMissing(string? cell) => cell is null || MissingTokens.Contains(cell.Trim());

    public static bool TryNumber(string cell, out double value) =>
        double.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>A feature cell as the model's float: missing becomes NaN (imputed by the model).</summary>
    public static float ToFeature(string cell) =>
        !IsMissing(cell) && TryNumber(cell, out var v) ? (float)v : float.NaN;
}
