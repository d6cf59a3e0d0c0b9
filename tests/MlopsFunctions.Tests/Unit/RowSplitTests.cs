using System.Globalization;
using Microsoft.ML;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// The content-hash split on real flights rows: a row's split depends on its content only, never on its file, its
/// position or the column order, and the split shares match the configured fractions.
/// </summary>
public sealed class RowSplitTests : IClassFixture<RowSplitTests.FlightFiles>
{
    private static readonly RowSplit HashSplit = new(HoldoutFraction: 0.2, ValidationFraction: 0.1, Seed: 42);

    private static readonly Featurizer Flights = new(new DatasetSchema
    {
        Task = MlTask.Regression,
        Label = "delay",
        Featurization = FeaturizationVersions.Typed,
        Columns = [new FeatureColumn("distance", ColumnKind.Numeric, false), new FeatureColumn("time", ColumnKind.Numeric, false)],
    });

    private readonly FlightFiles files;

    public RowSplitTests(FlightFiles files) => this.files = files;

    /// <summary>The rows of one split of some files, as sorted (delay, distance, time) keys: a multiset to compare.</summary>
    private static List<string> Rows(Split part, params string[] paths) =>
        new TrainingRows(paths, Flights, HashSplit, part, CsvLimits.From(new Core.MlopsOptions()))
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Target}|{r.Numeric[0]}|{r.Numeric[1]}"))
            .Order(StringComparer.Ordinal)
            .ToList();

    [Theory]
    [InlineData(Core.Training.Split.Train)]
    [InlineData(Core.Training.Split.Validation)]
    [InlineData(Core.Training.Split.Holdout)]
    public void A_row_lands_in_the_same_split_whatever_the_row_order_and_column_order_of_its_file(Split part)
    {
        var original = Rows(part, files.First10k);
        var reshuffled = Rows(part, files.First10kShuffledAndReordered);

        Assert.NotEmpty(original);
        Assert.Equal(original, reshuffled);
    }

    [Fact]
    public void The_binary_files_hold_each_split_exactly_as_the_csv_reads_it()
    {
        var limits = CsvLimits.From(new Core.MlopsOptions());
        var window = new[] { files.First10k, files.Rows10kTo12k };
        var ml = new Microsoft.ML.MLContext(1);
        foreach (var part in Enum.GetValues<Split>())
        {
            var expected = new TrainingRows(window, Flights, HashSplit, part, limits)
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Target}|{r.Numeric[0]}|{r.Numeric[1]}")).ToList();
            var written = ml.Data.CreateEnumerable<BinaryRow>(PreparedRows.Open(window, Flights, HashSplit, part, limits), reuseRowObject: false)
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.RegressionLabel}|{r.Numeric[0]}|{r.Numeric[1]}")).ToList();

            Assert.NotEmpty(expected);
            Assert.Equal(expected.Count, written.Count);
            Assert.Equal(expected.Order(StringComparer.Ordinal), written.Order(StringComparer.Ordinal));
            Assert.Equal(expected, written); // same rows, same order: training on the file is training on the CSV
        }
    }

    private sealed class BinaryRow
    {
        [Microsoft.ML.Data.VectorType(2)]
        public float[] Numeric { get; set; } = [];

        public float RegressionLabel { get; set; }
    }

    [Fact]
    public void Appending_rows_to_a_file_leaves_the_old_rows_where_they_were()
    {
        foreach (var part in Enum.GetValues<Split>())
        {
            var before = Rows(part, files.First10k);
            var appended = Rows(part, files.First12k);
            var added = Rows(part, files.Rows10kTo12k);

            Assert.Equal(before.Concat(added).Order(StringComparer.Ordinal), appended);
        }
    }

    [Fact]
    public void A_row_in_two_files_is_in_the_same_split_in_both()
    {
        // The overlap of two exports (rows 10,000-11,999) against the export that has only those rows.
        var overlap = Rows(Core.Training.Split.Holdout, files.Rows10kTo12k);
        var inWider = Rows(Core.Training.Split.Holdout, files.First12k);

        Assert.NotEmpty(overlap);
        Assert.Empty(overlap.Except(inWider));
    }

    [Fact]
    public void The_shares_are_near_the_configured_fractions_on_50k_rows()
    {
        var counts = Enum.GetValues<Split>().ToDictionary(p => p, p => (double)Rows(p, RepoPaths.FlightsSample).Count);
        var total = counts.Values.Sum();

        Assert.Equal(50_000, total);
        Assert.InRange(counts[Core.Training.Split.Holdout] / total, 0.19, 0.21);
        Assert.InRange(counts[Core.Training.Split.Validation] / total, 0.09, 0.11);
        Assert.InRange(counts[Core.Training.Split.Train] / total, 0.68, 0.72);
    }

    [Fact]
    public void Another_seed_gives_another_split()
    {
        var other = new TrainingRows([files.First10k], Flights, HashSplit with { Seed = 7 }, Core.Training.Split.Holdout, CsvLimits.From(new Core.MlopsOptions()))
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Target}|{r.Numeric[0]}|{r.Numeric[1]}"))
            .Order(StringComparer.Ordinal).ToList();

        Assert.NotEqual(Rows(Core.Training.Split.Holdout, files.First10k), other);
    }

    [Fact]
    public void Split_of_a_hash_follows_the_fractions_in_order()
    {
        Assert.Equal(Core.Training.Split.Holdout, HashSplit.Of(0));
        Assert.Equal(Core.Training.Split.Validation, HashSplit.Of((ulong)(0.25 * ulong.MaxValue)));
        Assert.Equal(Core.Training.Split.Train, HashSplit.Of(ulong.MaxValue));
    }

    /// <summary>Files cut from flights-50k.csv once for the class: prefixes, a slice, and a reshuffled, column-reordered copy.</summary>
    public sealed class FlightFiles : IDisposable
    {
        private readonly string folder = Path.Combine(Path.GetTempPath(), "mlops-split-" + Guid.NewGuid().ToString("N")[..8]);

        public FlightFiles()
        {
            Directory.CreateDirectory(folder);
            var lines = File.ReadLines(RepoPaths.FlightsSample).ToList();
            var header = lines[0];
            var rows = lines.Skip(1).ToList();
            First10k = Write("first10k.csv", header, rows.Take(10_000));
            First12k = Write("first12k.csv", header, rows.Take(12_000));
            Rows10kTo12k = Write("slice.csv", header, rows.Skip(10_000).Take(2_000));

            // time,delay,distance, rows in a seeded random order, CRLF line ends.
            var random = new Random(3);
            var shuffled = rows.Take(10_000).OrderBy(_ => random.Next()).Select(r =>
            {
                var c = r.Split(',');
                return $"{c[2]},{c[0]},{c[1]}";
            });
            First10kShuffledAndReordered = Path.Combine(folder, "shuffled.csv");
            File.WriteAllText(First10kShuffledAndReordered, "time,delay,distance\r\n" + string.Join("\r\n", shuffled) + "\r\n");
        }

        public string First10k { get; }

        public string First12k { get; }

        public string Rows10kTo12k { get; }

        public string First10kShuffledAndReordered { get; }

        private string Write(string name, string header, IEnumerable<string> rows)
        {
            var path = Path.Combine(folder, name);
            File.WriteAllLines(path, rows.Prepend(header));
            return path;
        }

        public void Dispose() => Directory.Delete(folder, recursive: true);
    }
}
