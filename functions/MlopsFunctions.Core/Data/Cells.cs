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

    /// <summary>Powers of ten that a double holds exactly, for the fast path of <see cref="TryNumber(ReadOnlySpan{char}, out double)"/>.</summary>
    private static readonly double[] ExactPowersOfTen =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    /// <summary>A finite number in invariant culture ("1.5", "-3e2"); thousands separators are not numbers.</summary>
    public static bool TryNumber(ReadOnlySpan<char> cell, out double value)
    {
        cell = cell.Trim();
        return TryPlainDecimal(cell, out value) ||
               (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value));
    }

    /// <summary>
    /// The common case of data files, "-12.345", exactly and fast: when the digits fit in 2^53 and at most 22 follow the
    /// point, the value is digits / 10^k, both exact doubles, and IEEE division rounds correctly (Clinger's fast path),
    /// which is what double.Parse returns. Anything else (exponents, long mantissas) is left to double.TryParse.
    /// </summary>
    private static bool TryPlainDecimal(ReadOnlySpan<char> cell, out double value)
    {
        value = 0;
        var i = 0;
        var negative = false;
        if (cell.Length > 0 && cell[0] is '-' or '+')
        {
            negative = cell[0] == '-';
            i = 1;
        }

        ulong digits = 0;
        var count = 0;
        var fraction = -1;
        for (; i < cell.Length; i++)
        {
            var c = cell[i];
            if (c is >= '0' and <= '9')
            {
                if (++count > 15)
                {
                    return false; // might not fit in 2^53
                }

                digits = (digits * 10) + (ulong)(c - '0');
                if (fraction >= 0)
                {
                    fraction++;
                }
            }
            else if (c == '.' && fraction < 0)
            {
                fraction = 0;
            }
            else
            {
                return false;
            }
        }

        if (count == 0 || fraction > 22)
        {
            return false;
        }

        value = fraction > 0 ? digits / ExactPowersOfTen[fraction] : digits;
        if (negative)
        {
            value = -value;
        }

        return true;
    }

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
