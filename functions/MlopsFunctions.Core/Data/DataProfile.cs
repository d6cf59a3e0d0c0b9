namespace MlopsFunctions.Core.Data;

/// <summary>
/// Statistics of a dataset per column, from the streaming validation pass: stored with every accepted dataset and
/// every version, shown to operators, and the baseline later data and served inputs are compared with (PSI).
/// </summary>
public sealed record DataProfile
{
    /// <summary>Data rows in the file (blank lines and ragged rows excluded).</summary>
    public required long Rows { get; init; }

    /// <summary>Rows with a label, which the statistics describe.</summary>
    public required long UsableRows { get; init; }

    public required IReadOnlyList<ColumnProfile> Columns { get; init; }

    public ColumnProfile? Find(string name) => Columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal));
}

/// <summary>One column's counts, numeric summary, quantiles, histogram, top categories and drift baseline.</summary>
public sealed record ColumnProfile
{
    public required string Name { get; init; }

    /// <summary>label, feature or ignored.</summary>
    public required string Role { get; init; }

    /// <summary>numeric, boolean, date, dateTime, categorical, or empty when it has no values.</summary>
    public required string Kind { get; init; }

    public long Count { get; init; }

    public long Missing { get; init; }

    public long Distinct { get; init; }

    /// <summary>True when <see cref="Distinct"/> is a HyperLogLog estimate (too many values to count exactly).</summary>
    public bool DistinctEstimated { get; init; }

    public double? Min { get; init; }

    public double? Max { get; init; }

    public double? Mean { get; init; }

    public double? Std { get; init; }

    /// <summary>p1, p5, p10, p25, p50, p75, p90, p95, p99.</summary>
    public IReadOnlyDictionary<string, double>? Quantiles { get; init; }

    /// <summary>True when quantiles come from a uniform sample of the values rather than all of them.</summary>
    public bool QuantilesSampled { get; init; }

    public Histogram? Histogram { get; init; }

    public IReadOnlyList<CategoryCount>? TopCategories { get; init; }

    /// <summary>Drift baseline: the share of values in each bin (numeric: between quantile cut points; categorical: per category).</summary>
    public DriftBaseline? Baseline { get; init; }
}

/// <summary>Equal-width bins with exact counts: Edges has one more entry than Counts.</summary>
public sealed record Histogram(IReadOnlyList<double> Edges, IReadOnlyList<long> Counts);

public sealed record CategoryCount(string Value, long Count);

/// <summary>
/// The distribution PSI compares against: numeric values in bins split at <see cref="Cuts"/> (the baseline's
/// deciles), or categorical values per <see cref="Categories"/> plus an "other" bin; missing values are their own bin.
/// </summary>
public sealed record DriftBaseline(
    IReadOnlyList<double>? Cuts,
    IReadOnlyList<string>? Categories,
    IReadOnlyList<double> Fractions,
    double MissingFraction);
