using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// The prepared rows files that trainers and the evaluator read instead of the CSV: every split holds exactly the
/// rows the CSV featurizes to (numbers, categories, dates, each task's label), shuffling cursors visit each row once
/// in a seeded order, and a damaged file is refused with what to do about it.
/// </summary>
public sealed class PreparedRowsTests
{
    private static readonly RowSplit ThreeWays = new(HoldoutFraction: 0.2, ValidationFraction: 0.2, Seed: 5);

    [Theory]
    [InlineData("penguins")] // multiclass, categorical inputs, numbers with missing cells, names with spaces
    [InlineData("breast-cancer")] // binary
    [InlineData("cars")] // regression, a date and categorical inputs
    public void Every_split_holds_each_row_exactly_as_the_csv_featurizes_it(string sample)
    {
        var schema = SampleSets.Schema(sample);
        var featurizer = new Featurizer(schema);
        var file = Copy(RepoPaths.SampleData(sample));
        var ml = new MLContext(1);
        var total = 0;
        foreach (var part in Enum.GetValues<Split>())
        {
            var expected = new TrainingRows([file], featurizer, ThreeWays, part, SampleSets.Limits).Select(Describe).ToList();
            var view = PreparedRows.Open([file], featurizer, ThreeWays, part, SampleSets.Limits);
            var written = ml.Data.CreateEnumerable<ModelRow>(view, reuseRowObject: false, schemaDefinition: ModelRow.SchemaFor(featurizer))
                .Select(Describe).ToList();

            Assert.NotEmpty(expected);
            Assert.Equal(expected.Count, view.GetRowCount());
            Assert.Equal(expected, written);
            total += written.Count;
        }

        var all = new TrainingRows([file], featurizer, SampleSets.AllRows(), Split.Train, SampleSets.Limits);
        Assert.Equal(all.ToList().Count, total);
    }

    [Fact]
    public void A_shuffling_cursor_visits_every_row_once_in_an_order_its_seed_decides()
    {
        var view = FlightsRows();
        var rows = (int)view.GetRowCount()!.Value;

        var sequential = RowIds(view, null);
        var shuffled = RowIds(view, new Random(3));

        Assert.True(rows > 3 * 4096, $"the sample must span several blocks, it has {rows} rows");
        Assert.Equal(Enumerable.Range(0, rows), sequential);
        Assert.Equal(Enumerable.Range(0, rows), shuffled.Order());
        Assert.NotEqual(sequential, shuffled);
        Assert.Equal(shuffled, RowIds(view, new Random(3)));
        Assert.NotEqual(shuffled, RowIds(view, new Random(4)));
    }

    [Fact]
    public void A_cursor_set_reads_consecutive_ranges_whose_batches_put_the_rows_back_in_file_order()
    {
        var view = FlightsRows();
        var rows = (int)view.GetRowCount()!.Value;

        var cursors = view.GetRowCursorSet(view.Schema, 3);
        var parts = cursors.Select(Batches).ToList();
        foreach (var cursor in cursors)
        {
            cursor.Dispose();
        }

        Assert.Equal(3, parts.Count);
        Assert.All(parts, p =>
        {
            Assert.NotEmpty(p);
            Assert.Equal(p.OrderBy(r => r.Batch).ThenBy(r => r.Id), p); // batches never go back within a cursor
            Assert.Equal(Enumerable.Range(p[0].Id, p.Count), p.Select(r => r.Id)); // one range of consecutive rows
        });
        Assert.Empty(parts[0].Select(r => r.Batch).Intersect(parts[1].Select(r => r.Batch))); // a batch belongs to one cursor
        Assert.Equal(Enumerable.Range(0, rows), parts.SelectMany(p => p).OrderBy(r => r.Batch).Select(r => r.Id));

        // A shuffling cursor stays one cursor, so the trainer's seed alone decides the order.
        var shuffled = view.GetRowCursorSet(view.Schema, 3, new Random(3));
        Assert.Single(shuffled);
        shuffled[0].Dispose();
    }

    [Fact]
    public void Wide_rows_come_in_smaller_blocks_and_every_row_still_comes_once_with_its_values()
    {
        // 300 numbers a row: records of 1,204 bytes, so a block holds 870 rows instead of 4,096.
        const int Columns = 300, Rows = 2_000;
        var file = Path.Combine(Path.GetTempPath(), $"prepared-wide-{Guid.NewGuid():N}.csv");
        using (var writer = new StreamWriter(file))
        {
            writer.WriteLine(string.Join(',', Enumerable.Range(0, Columns).Select(c => $"x{c}").Append("y")));
            for (var r = 0; r < Rows; r++)
            {
                writer.WriteLine(string.Join(',', Enumerable.Range(0, Columns).Select(c => ((r % 50) + c).ToString(CultureInfo.InvariantCulture)).Append(r.ToString(CultureInfo.InvariantCulture))));
            }
        }

        var schema = SampleSets.SchemaOfFile(file, new ModelSpec { Task = "regression", Label = "y" });
        var view = PreparedRows.Open([file], new Featurizer(schema), SampleSets.AllRows(), Split.Train, SampleSets.Limits);
        var seen = new List<int>();
        using (var cursor = view.GetRowCursor(view.Schema, new Random(9)))
        {
            var label = cursor.GetGetter<float>(view.Schema[ModelRow.RegressionLabel]);
            var numbers = cursor.GetGetter<VBuffer<float>>(view.Schema[nameof(ModelRow.Numeric)]);
            float y = 0;
            VBuffer<float> x = default;
            while (cursor.MoveNext())
            {
                label(ref y);
                numbers(ref x);
                var r = (int)y;
                Assert.Equal(Columns, x.Length);
                Assert.Equal(r % 50, x.GetItemOrDefault(0));
                Assert.Equal((r % 50) + Columns - 1, x.GetItemOrDefault(Columns - 1));
                seen.Add(r);
            }
        }

        Assert.Equal(Enumerable.Range(0, Rows), seen.Order());
        Assert.NotEqual(Enumerable.Range(0, Rows), seen);
        File.Delete(file);
    }

    [Theory]
    [InlineData("penguins")] // multiclass labels and categories: string indexes are remapped when parts are joined
    [InlineData("cars")] // regression with dates and categories
    public void Several_threads_write_byte_for_byte_the_files_of_one_thread(string sample)
    {
        // Quoted cells with commas, line breaks and escaped quotes, CRLF line ends, and a window of two files that
        // share rows: cut into ranges of about 1 KiB, every cut lands somewhere tricky.
        var schema = SampleSets.Schema(sample);
        var featurizer = new Featurizer(schema);
        var first = Tricky(RepoPaths.SampleData(sample), skip: 0);
        var second = Tricky(RepoPaths.SampleData(sample), skip: 40);
        var outputs = new Dictionary<int, Dictionary<Split, byte[]>>();
        foreach (var threads in new[] { 1, 4 })
        {
            var folder = Directory.CreateTempSubdirectory("prepared-threads-").FullName;
            var paths = Enum.GetValues<Split>().Select(p => (p, Path.Combine(folder, $"{p}.rows"))).ToArray();
            PreparedRows.WriteAll([first, second], featurizer, ThreeWays, SampleSets.Limits, paths, threads, minRangeBytes: 1024);
            outputs[threads] = paths.ToDictionary(p => p.p, p => File.ReadAllBytes(p.Item2));
            Directory.Delete(folder, recursive: true);
        }

        Assert.True(RowRanges.Of(first, 4, 1024).Count == 4, "the file must be cut into four ranges");
        foreach (var part in Enum.GetValues<Split>())
        {
            Assert.True(outputs[1][part].Length > RowsFileWriter.FooterBytes, $"{part} is empty");
            Assert.Equal(outputs[1][part], outputs[4][part]);
        }

        var expected = Enum.GetValues<Split>().Sum(part => new TrainingRows([first, second], featurizer, ThreeWays, part, SampleSets.Limits).ToList().Count);
        Assert.Equal(expected, Enum.GetValues<Split>().Sum(part => BitConverter.ToInt64(outputs[4][part], outputs[4][part].Length - RowsFileWriter.FooterBytes)));
    }

    [Fact]
    public void A_reader_error_in_a_later_range_surfaces_as_itself()
    {
        // A line over the limit in the last quarter of the file: a thread other than the first meets it.
        var file = Tricky(RepoPaths.SampleData("penguins"), skip: 0);
        var lines = File.ReadAllLines(file).ToList();
        lines.Insert(lines.Count - 5, lines[^6] + new string(' ', 3000));
        File.WriteAllLines(file, lines);
        var limits = SampleSets.Limits with { MaxLineBytes = 2048 };
        var folder = Directory.CreateTempSubdirectory("prepared-error-").FullName;
        var paths = Enum.GetValues<Split>().Select(p => (p, Path.Combine(folder, $"{p}.rows"))).ToArray();

        var error = Assert.Throws<CsvRejectedException>(() =>
            PreparedRows.WriteAll([file], new Featurizer(SampleSets.Schema("penguins")), ThreeWays, limits, paths, threads: 4, minRangeBytes: 1024));

        Assert.Equal(AnomalyCodes.LineTooLong, error.Code);
        Assert.Empty(Directory.GetFiles(folder)); // no part or piece left behind
        Directory.Delete(folder);
    }

    [Fact]
    public void Ranges_cut_only_between_records_and_cover_the_file()
    {
        var file = Tricky(RepoPaths.SampleData("penguins"), skip: 0);
        var whole = Records(file, new RowRange(0, new FileInfo(file).Length), null);

        var ranges = RowRanges.Of(file, 6, 512);
        var header = whole[0].Split('\u001f');
        var pieces = ranges.SelectMany((r, k) => Records(file, r, k == 0 ? null : header)).ToList();

        Assert.Equal(6, ranges.Count);
        Assert.Equal(0, ranges[0].Start);
        Assert.All(ranges.Zip(ranges.Skip(1)), pair => Assert.Equal(pair.First.Start + pair.First.Length, pair.Second.Start));
        Assert.Equal(new FileInfo(file).Length, ranges[^1].Start + ranges[^1].Length);
        Assert.Contains(whole, r => r.Contains('\n', StringComparison.Ordinal)); // records with line breaks inside quotes exist
        Assert.Equal(whole, pieces);
        Assert.Single(RowRanges.Of(file, 6, new FileInfo(file).Length));
    }

    /// <summary>A sample rewritten with CRLF and a quoted note column holding commas, line breaks and quotes, minus its first rows.</summary>
    private static string Tricky(string source, int skip)
    {
        var path = Path.Combine(Path.GetTempPath(), $"prepared-tricky-{Guid.NewGuid():N}.csv");
        var lines = File.ReadAllLines(source);
        using var writer = new StreamWriter(path) { NewLine = "\r\n" };
        writer.WriteLine(lines[0] + ",note");
        for (var i = 1 + skip; i < lines.Length; i++)
        {
            writer.WriteLine(lines[i] + (i % 3) switch
            {
                0 => ",\"line one,\nline \"\"two\"\"\r\nthree\"",
                1 => ",\"a, b\"",
                _ => ",plain",
            });
        }

        return path;
    }

    /// <summary>The records of one range, their cells joined by a unit separator; the header first for the first range.</summary>
    private static List<string> Records(string file, RowRange range, IReadOnlyList<string>? header)
    {
        using var stream = RowRanges.Open(file, range);
        using var csv = header is null ? CsvSource.Open(stream, SampleSets.Limits) : CsvSource.OpenBody(stream, SampleSets.Limits, header);
        var records = header is null ? new List<string> { string.Join('\u001f', csv.Header) } : [];
        while (csv.MoveNext())
        {
            var cells = new string[csv.Current.ColCount];
            for (var c = 0; c < cells.Length; c++)
            {
                cells[c] = csv.Current[c].ToString();
            }

            records.Add(string.Join('\u001f', cells));
        }

        return records;
    }

    [Fact]
    public void A_damaged_file_is_refused_and_says_how_to_recover()
    {
        var schema = SampleSets.Schema("iris");
        var featurizer = new Featurizer(schema);
        var file = Copy(RepoPaths.SampleData("iris"));
        var path = PreparedRows.Path([file], featurizer, SampleSets.AllRows(), Split.Train, SampleSets.Limits);
        var damaged = path + ".damaged";
        File.WriteAllBytes(damaged, File.ReadAllBytes(path)[..^10]);

        var error = Assert.Throws<InvalidDataException>(() => RowsFileView.Open(damaged, featurizer));

        Assert.Contains("Delete it", error.Message, StringComparison.Ordinal);
        File.Delete(damaged);
    }

    /// <summary>The flights sample's rows, all in one split: a dozen blocks of 4,096 rows.</summary>
    private static IDataView FlightsRows()
    {
        var file = Copy(RepoPaths.FlightsSample);
        var schema = SampleSets.SchemaOfFile(file, new ModelSpec { Task = "regression", Label = "delay" });
        return PreparedRows.Open([file], new Featurizer(schema), SampleSets.AllRows(), Split.Train, SampleSets.Limits);
    }

    private static List<(long Batch, int Id)> Batches(DataViewRowCursor cursor)
    {
        var rows = new List<(long, int)>();
        var id = cursor.GetIdGetter();
        DataViewRowId value = default;
        while (cursor.MoveNext())
        {
            id(ref value);
            rows.Add((cursor.Batch, (int)value.Low));
        }

        return rows;
    }

    private static List<int> RowIds(IDataView view, Random? rand)
    {
        var ids = new List<int>();
        using var cursor = view.GetRowCursor(view.Schema, rand);
        var id = cursor.GetIdGetter();
        var numbers = cursor.GetGetter<VBuffer<float>>(view.Schema[nameof(ModelRow.Numeric)]);
        DataViewRowId value = default;
        VBuffer<float> numeric = default;
        while (cursor.MoveNext())
        {
            id(ref value);
            numbers(ref numeric);
            ids.Add((int)value.Low);
        }

        return ids;
    }

    /// <summary>A copy under a fresh name, so the prepared files of this test are written by it, not found from another.</summary>
    private static string Copy(string source)
    {
        var path = Path.Combine(Path.GetTempPath(), $"prepared-{Guid.NewGuid():N}.csv");
        File.Copy(source, path);
        return path;
    }

    private static string Describe(ModelRow row) => string.Create(CultureInfo.InvariantCulture,
        $"{string.Join(';', row.Numeric.Select(n => n.ToString("R", CultureInfo.InvariantCulture)))}|{string.Join(';', row.Categorical)}|{row.Target}|{row.Flag}|{row.Class}");
}
