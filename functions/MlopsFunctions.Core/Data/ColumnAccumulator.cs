using System.Globalization;
using System.Runtime.InteropServices;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// Everything validation and profiling learn about one column, gathered cell by cell in bounded memory: counts,
/// which types the cells parse as, a numeric summary (Welford), a seeded sample for quantiles, an exact adaptive
/// histogram, up to a limit of category counts, a distinct-count sketch, and the few example cells each problem
/// report shows. Optional checks (ranges, a reference domain, drift bins) run in the same pass.
/// </summary>
internal sealed class ColumnAccumulator
{
    public const int ExampleLimit = 5;
    public const int SampleSize = 4096;

    /// <summary>After this many values, all numbers, a column not declared categorical stops counting categories.</summary>
    private const int CategoryProbeRows = 10_000;

    private readonly int maxCategories;
    private readonly bool alwaysCountCategories;
    private readonly Dictionary<string, long> categories = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> categoryLookup;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>>? referenceDomain;
    private readonly double? rangeMin;
    private readonly double? rangeMax;
    private readonly IReadOnlyList<double>? driftCuts;
    private readonly long[]? driftCounts;
    private readonly Reservoir sample;
    private readonly StreamingHistogram histogram = new();
    private readonly HyperLogLog distinct = new();
    private double mean;
    private double m2;
    private double last;

    public ColumnAccumulator(string name, ColumnChecks checks)
    {
        ArgumentNullException.ThrowIfNull(checks);
        Name = name;
        maxCategories = checks.MaxCategories;
        alwaysCountCategories = checks.CountCategories;
        categoryLookup = categories.GetAlternateLookup<ReadOnlySpan<char>>();
        referenceDomain = checks.ReferenceDomain?.GetAlternateLookup<ReadOnlySpan<char>>();
        rangeMin = checks.Min;
        rangeMax = checks.Max;
        driftCuts = checks.DriftCuts;
        driftCounts = checks.DriftCuts is { } cuts ? new long[cuts.Count + 1] : null;
        // Seeded by the column name (string.GetHashCode is randomized per process), so a file's profile never changes.
        sample = new Reservoir(SampleSize, System.IO.Hashing.XxHash3.HashToUInt64(MemoryMarshal.AsBytes(name.AsSpan()), (long)checks.Seed));
    }

    public string Name { get; }

    public long Present { get; private set; }

    public long Missing { get; private set; }

    public long NumericCount { get; private set; }

    public long BooleanCount { get; private set; }

    public long DateCount { get; private set; }

    public long DateTimeCount { get; private set; }

    public double Min { get; private set; }

    public double Max { get; private set; }

    public bool AllIntegers { get; private set; } = true;

    public bool Increasing { get; private set; } = true;

    /// <summary>True when more distinct values came than <c>maxCategories</c> allows, so <see cref="Categories"/> is partial.</summary>
    public bool CategoriesOverflowed { get; private set; }

    /// <summary>True when category counting stopped early on an all-numeric column.</summary>
    public bool CategoriesStopped { get; private set; }

    public IReadOnlyDictionary<string, long> Categories => categories;

    public List<CellExample> NonNumericExamples { get; } = [];

    public long OutOfRange { get; private set; }

    public List<CellExample> OutOfRangeExamples { get; } = [];

    public long NewCategories { get; private set; }

    public List<CellExample> NewCategoryExamples { get; } = [];

    public long[]? DriftCounts => driftCounts;

    public long NonNumeric => Present - NumericCount;

    public double Std => NumericCount > 1 ? Math.Sqrt(m2 / (NumericCount - 1)) : 0;

    public double Mean => mean;

    public long DistinctEstimate => !CategoriesOverflowed && !CategoriesStopped ? categories.Count : distinct.Estimate();

    public void Add(ReadOnlySpan<char> cell, long line)
    {
        if (Cells.IsMissing(cell))
        {
            Missing++;
            return;
        }

        Present++;
        distinct.Add(cell);
        if (Cells.TryNumber(cell, out var value))
        {
            AddNumber(value, cell, line);
        }
        else
        {
            Example(NonNumericExamples, line, cell);
            if (Cells.TryBoolean(cell, out _))
            {
                BooleanCount++;
            }
            else if (Cells.TryDate(cell, out _))
            {
                DateCount++;
            }
            else if (Cells.TryDateTime(cell, out _))
            {
                DateTimeCount++;
            }
        }

        CountCategory(cell);
        if (referenceDomain is { } domain && !domain.Contains(cell))
        {
            NewCategories++;
            Example(NewCategoryExamples, line, cell);
        }
    }

    private void AddNumber(double value, ReadOnlySpan<char> cell, long line)
    {
        NumericCount++;
        var delta = value - mean;
        mean += delta / NumericCount;
        m2 += delta * (value - mean);
        if (NumericCount == 1)
        {
            Min = Max = value;
        }
        else
        {
            Min = Math.Min(Min, value);
            Max = Math.Max(Max, value);
            Increasing &= value > last;
        }

        last = value;
        AllIntegers &= value == Math.Floor(value);
        sample.Add(value);
        histogram.Add(value);
        if (value < rangeMin || value > rangeMax)
        {
            OutOfRange++;
            Example(OutOfRangeExamples, line, cell);
        }

        if (driftCounts is not null)
        {
            driftCounts[Bin(driftCuts!, value)]++;
        }
    }

    private void CountCategory(ReadOnlySpan<char> cell)
    {
        if (CategoriesStopped)
        {
            return;
        }

        if (!alwaysCountCategories && Present > CategoryProbeRows && NumericCount == Present)
        {
            // An all-numeric column: counting its values as categories would only cost time and memory.
            CategoriesStopped = true;
            categories.Clear();
            return;
        }

        if (categories.Count >= maxCategories && !categoryLookup.ContainsKey(cell))
        {
            CategoriesOverflowed = true;
            return;
        }

        CollectionsMarshal.GetValueRefOrAddDefault(categoryLookup, cell, out _)++;
    }

    /// <summary>The bin of a value among sorted cut points: bin i holds values in [cut[i-1], cut[i]).</summary>
    public static int Bin(IReadOnlyList<double> cuts, double value)
    {
        int lo = 0, hi = cuts.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (value < cuts[mid])
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    private static void Example(List<CellExample> examples, long line, ReadOnlySpan<char> cell)
    {
        if (examples.Count < ExampleLimit)
        {
            examples.Add(new CellExample(line, Shorten(cell)));
        }
    }

    public static string Shorten(ReadOnlySpan<char> cell) => cell.Length <= 100 ? cell.ToString() : string.Concat(cell[..97], "...");

    /// <summary>The column's profile, for a role and the kind decided for it.</summary>
    public ColumnProfile ToProfile(string role, string kind)
    {
        var numeric = kind is "numeric";
        var profile = new ColumnProfile
        {
            Name = Name,
            Role = role,
            Kind = kind,
            Count = Present,
            Missing = Missing,
            Distinct = DistinctEstimate,
            DistinctEstimated = CategoriesOverflowed || CategoriesStopped,
        };
        if (numeric && NumericCount > 0)
        {
            var sorted = sample.Sorted();
            var (edges, counts) = histogram.Bins(32);
            return profile with
            {
                Min = Min,
                Max = Max,
                Mean = mean,
                Std = Std,
                Quantiles = new Dictionary<string, double>(StringComparer.Ordinal)
                {
                    ["p1"] = Quantile(sorted, 0.01), ["p5"] = Quantile(sorted, 0.05), ["p10"] = Quantile(sorted, 0.1),
                    ["p25"] = Quantile(sorted, 0.25), ["p50"] = Quantile(sorted, 0.5), ["p75"] = Quantile(sorted, 0.75),
                    ["p90"] = Quantile(sorted, 0.9), ["p95"] = Quantile(sorted, 0.95), ["p99"] = Quantile(sorted, 0.99),
                },
                QuantilesSampled = !sample.IsExact,
                Histogram = new Histogram(edges, counts),
                Baseline = NumericBaseline(sorted),
            };
        }

        if (!CategoriesStopped && categories.Count > 0)
        {
            var top = categories.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(20)
                .Select(c => new CategoryCount(c.Key, c.Value)).ToList();
            return profile with { TopCategories = top, Baseline = CategoricalBaseline() };
        }

        return profile;
    }

    private DriftBaseline NumericBaseline(double[] sorted)
    {
        // Cut at the deciles of the sample; ties (discrete values) merge bins, so each cut is distinct.
        var cuts = Enumerable.Range(1, 9).Select(i => Quantile(sorted, i / 10.0)).Distinct().ToList();
        var counts = new long[cuts.Count + 1];
        foreach (var v in sorted)
        {
            counts[Bin(cuts, v)]++;
        }

        return new DriftBaseline(cuts, null, counts.Select(c => (double)c / sorted.Length).ToList(), MissingShare());
    }

    private DriftBaseline? CategoricalBaseline()
    {
        if (Present == 0)
        {
            return null;
        }

        // The 50 most frequent categories each get a bin; the rest, and values never seen, share the "other" bin.
        var top = categories.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(50).ToList();
        var fractions = top.Select(c => (double)c.Value / Present).ToList();
        fractions.Add(Math.Max(0, 1 - fractions.Sum()));
        return new DriftBaseline(null, top.Select(c => c.Key).ToList(), fractions, MissingShare());
    }

    private double MissingShare() => Present + Missing == 0 ? 0 : (double)Missing / (Present + Missing);

    private static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name}: {Present} present, {Missing} missing");
}

/// <summary>What an accumulator checks besides profiling: limits, a range, a reference domain, drift bins.</summary>
internal sealed record ColumnChecks(int MaxCategories, bool CountCategories, ulong Seed)
{
    public double? Min { get; init; }

    public double? Max { get; init; }

    public HashSet<string>? ReferenceDomain { get; init; }

    public IReadOnlyList<double>? DriftCuts { get; init; }
}
