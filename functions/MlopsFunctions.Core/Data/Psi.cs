namespace MlopsFunctions.Core.Data;

/// <summary>
/// Population stability index of a column against a baseline: sum over bins of (actual - expected) * ln(actual /
/// expected), missing values counted as their own bin. Under 0.1 is stable, 0.1-0.25 a moderate shift, over 0.25 a
/// large one. One implementation for validation (file vs production's training data) and monitoring (served inputs).
/// </summary>
public static class Psi
{
    /// <summary>Shares below this count as this, so an empty bin does not make the index infinite.</summary>
    private const double Floor = 1e-4;

    /// <summary>PSI of a column's values against its baseline, or null when the column cannot be compared with it.</summary>
    internal static double? Of(DriftBaseline baseline, ColumnAccumulator column) =>
        Counts(baseline, column) is { } binned ? Compute(baseline, binned.Counts, binned.Missing) : null;

    /// <summary>
    /// A column's values in the baseline's bins (numeric: between its cuts; categorical: per category plus "other") and
    /// its missing count, or null when they cannot be binned alike. Monitoring adds these up per hour before <see cref="Compute"/>.
    /// </summary>
    internal static (long[] Counts, long Missing)? Counts(DriftBaseline baseline, ColumnAccumulator column)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(column);
        if (baseline.Cuts is not null && column.DriftCounts is { } numeric)
        {
            return ((long[])numeric.Clone(), column.Missing);
        }

        if (baseline.Categories is { } categories && !column.CategoriesStopped && !column.CategoriesOverflowed)
        {
            var counts = new long[categories.Count + 1];
            for (var i = 0; i < categories.Count; i++)
            {
                counts[i] = column.Categories.GetValueOrDefault(categories[i]);
            }

            counts[^1] = column.Present - counts.Sum();
            return (counts, column.Missing);
        }

        return null;
    }

    /// <summary>PSI of observed bin counts (same bins as the baseline) and a missing count against the baseline.</summary>
    public static double Compute(DriftBaseline baseline, IReadOnlyList<long> counts, long missing)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(counts);
        var total = counts.Sum() + missing;
        if (total == 0 || counts.Count != baseline.Fractions.Count)
        {
            return 0;
        }

        var present = 1 - baseline.MissingFraction;
        var psi = Term((double)missing / total, baseline.MissingFraction);
        for (var i = 0; i < counts.Count; i++)
        {
            psi += Term((double)counts[i] / total, baseline.Fractions[i] * present);
        }

        return psi;
    }

    private static double Term(double actual, double expected)
    {
        if (actual == 0 && expected == 0)
        {
            return 0;
        }

        actual = Math.Max(actual, Floor);
        expected = Math.Max(expected, Floor);
        return (actual - expected) * Math.Log(actual / expected);
    }
}
