using System.Globalization;

namespace MlopsFunctions.Core.Data;

/// <summary>How raw cells read as missing values, numbers, booleans and dates; the one definition validation, training and serving share.</summary>
public static class Cells
{
    private static readonly string[] DateFormats = ["yyyy-MM-dd", "yyyy/MM/dd"];

    private static readonly string[] DateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
    ];

    /// <summary>Empty, NA, N/A, NaN, null, ? and . (any case) mean "no value".</summary>
    public static bool IsMissing(ReadOnlySpan<char> cell)
    {
        cell = cell.Trim();
        return cell.Length switch
        {
            0 => true,
            1 => cell[0] is '?' or '.',
            2 => cell.Equals("NA", StringComparison.OrdinalIgnoreCase),
            3 => cell.Equals("N/A", StringComparison.OrdinalIgnoreCase) || cell.Equals("NaN", StringComparison.OrdinalIgnoreCase),
            4 => cell.Equals("null", StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
    }

    public static bool IsMissing(string? cell) => cell is null || IsMissing(cell.AsSpan());

    /// <summary>A finite number in invariant culture ("1.5", "-3e2"); thousands separators are not numbers.</summary>
    public static bool TryNumber(ReadOnlySpan<char> cell, out double value) =>
        double.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    public static bool TryNumber(string cell, out double value) => TryNumber(cell.AsSpan(), out value);

    /// <summary>true/false, yes/no, t/f, y/n in any case (0 and 1 stay numbers).</summary>
    public static bool TryBoolean(ReadOnlySpan<char> cell, out bool value)
    {
        cell = cell.Trim();
        value = false;
        if (cell.Length > 5)
        {
            return false;
        }

        if (cell.Equals("true", StringComparison.OrdinalIgnoreCase) || cell.Equals("yes", StringComparison.OrdinalIgnoreCase) ||
            cell.Equals("t", StringComparison.OrdinalIgnoreCase) || cell.Equals("y", StringComparison.OrdinalIgnoreCase))
        {
            value = true;
            return true;
        }

        return cell.Equals("false", StringComparison.OrdinalIgnoreCase) || cell.Equals("no", StringComparison.OrdinalIgnoreCase) ||
               cell.Equals("f", StringComparison.OrdinalIgnoreCase) || cell.Equals("n", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>An ISO date (2024-01-31 or 2024/01/31).</summary>
    public static bool TryDate(ReadOnlySpan<char> cell, out DateTime value)
    {
        cell = cell.Trim();
        value = default;
        return cell.Length == 10 && cell[4] is '-' or '/' &&
               DateTime.TryParseExact(cell, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>An ISO 8601 date and time, with or without seconds, fraction and offset (UTC when none).</summary>
    public static bool TryDateTime(ReadOnlySpan<char> cell, out DateTime value)
    {
        cell = cell.Trim();
        value = default;
        return cell.Length >= 16 && cell[4] == '-' &&
               DateTime.TryParseExact(cell, DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }
}
