using System.Globalization;
using System.Text;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>
/// Bad and tricky CSV files built from the real iris data, each with the anomaly validation must report. The same
/// catalog drives the validator's unit tests and an end-to-end test through LocalHost, whose limits are set small
/// (<see cref="Limits"/>) so the limit cases stay small files.
/// </summary>
public static class TrickyFiles
{
    /// <summary>The limits the tricky-file LocalHost and unit tests run with.</summary>
    public static readonly CsvLimits Limits = new(MaxFileBytes: 1024 * 1024, MaxColumns: 50, MaxLineBytes: 16 * 1024, MaxCategories: 100);

    /// <summary>The spec of the model the files are dropped for: iris with constraints the catalog exercises.</summary>
    public const string Spec = """
        {"task":"multiclass","label":"species","gates":{"minMetric":0.8},
         "validation":{"minRowsPerClass":5,"maxMissingFraction":0.3,"columns":{"sepal_length":{"min":0,"max":20}},"drift":{"psiError":2.0}}}
        """;

    private static string Iris => LocalHostFixture.ReadSample("iris").ReplaceLineEndings("\n");

    private static string[] Lines => Iris.TrimEnd('\n').Split('\n');

    private static string Header => Lines[0];

    private static IEnumerable<string> Rows => Lines.Skip(1);

    /// <summary>Files that must be rejected, with the error each must report.</summary>
    public static IReadOnlyList<TrickyFile> Rejected { get; } =
    [
        new("truncated.csv", Text(Iris[..(Iris.IndexOf('\n', 2000) + 7)]), AnomalyCodes.RaggedRow),
        new("truncated-in-quotes.csv", Text(Iris + "5.0,3.0,1.6,0.2,\"setosa\n4.9,3.1"), AnomalyCodes.UnclosedQuote),
        new("ragged.csv", Text(Replace(40, r => r + ",extra")), AnomalyCodes.RaggedRow),
        new("stray-words.csv", Text(Edit(0, (i, cell) => i % 20 == 3 ? "wide" : cell)), AnomalyCodes.TypeMismatch, "sepal_length"),
        new("text-column.csv", Text(Edit(0, (i, _) => i % 2 == 0 ? "short" : "long")), AnomalyCodes.TypeChange, "sepal_length"),
        new("all-missing-column.csv", Text(Edit(3, (_, _) => string.Empty)), AnomalyCodes.EmptyColumn, "petal_width"),
        new("new-label-class.csv", Text(Edit(4, (i, cell) => i < 10 ? "iris-nova" : cell)), AnomalyCodes.NewLabelClass, "species"),
        new("header-only.csv", Text(Header + "\n"), AnomalyCodes.HeaderOnly),
        new("empty.csv", [], AnomalyCodes.EmptyFile),
        new("line-over-limit.csv", Text(Replace(30, r => r.Replace("setosa", "\"" + new string('x', 20_000) + "\"", StringComparison.Ordinal))), AnomalyCodes.LineTooLong),
        new("invalid-utf8.csv", Splice(Iris, 60, [0xC3, 0x28]), AnomalyCodes.InvalidUtf8),
        new("binary.csv", Splice(Iris, 60, [0x00, 0x01, 0x02]), AnomalyCodes.Binary),
        new("duplicate-column.csv", Text(Iris.Replace("sepal_width", "sepal_length", StringComparison.Ordinal)), AnomalyCodes.DuplicateColumn, "sepal_length"),
        new("too-many-columns.csv", Text(WithColumns(60)), AnomalyCodes.TooManyColumns),
        new("over-size-limit.csv", Text(Header + "\n" + string.Concat(Enumerable.Repeat(string.Join('\n', Rows) + "\n", 420))), AnomalyCodes.FileTooLarge),
        new("no-label-column.csv", Text(Drop(4)), AnomalyCodes.MissingLabel, "species"),
        new("dropped-feature.csv", Text(Drop(2)), AnomalyCodes.MissingColumn, "petal_length"),
        new("empty-column-name.csv", Text(Iris.Replace("petal_width", string.Empty, StringComparison.Ordinal)), AnomalyCodes.EmptyColumnName),
        new("ten-rows.csv", Text(Header + "\n" + string.Join('\n', Rows.Take(5).Concat(Rows.Skip(50).Take(5)))), AnomalyCodes.TooFewRows),
        new("out-of-range.csv", Text(Edit(0, (i, cell) => i == 12 ? "-5.1" : cell)), AnomalyCodes.OutOfRange, "sepal_length"),
        new("label-per-row.csv", Text(Edit(4, (i, _) => "flower-" + i.ToString(CultureInfo.InvariantCulture))), AnomalyCodes.TooManyCategories, "species"),
        new("half-missing.csv", Text(Missing(i => i % 2 == 0, 0, 1, 2)), AnomalyCodes.MissingValues),
        new("notes.txt", Text(Iris), AnomalyCodes.NotCsv),
        new("shifted.csv", Text(Edit(2, (_, cell) => Shift(cell, 100))), AnomalyCodes.Drift, "petal_length"),
        new("rare-class.csv", Text(Header + "\n" + string.Join('\n', Rows.Take(100).Concat(Rows.Skip(100).Take(3)))), AnomalyCodes.TooFewRowsPerClass, "species"),
    ];

    /// <summary>Files that look odd but are valid CSV: they must be accepted, with the same rows as iris.</summary>
    public static IReadOnlyList<TrickyFile> Accepted { get; } =
    [
        new("bom.csv", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(Iris)], null),
        new("crlf.csv", Text(Iris.Replace("\n", "\r\n", StringComparison.Ordinal)), null),
        new("quoted.csv", Text(Edit(4, (_, cell) => $"\"{cell}\"")), null),
        new("trailing-blank-lines.csv", Text(Iris + "\n\n"), null),
        new("no-final-newline.csv", Text(Iris.TrimEnd('\n')), null),
        new("spaces-around-cells.csv", Text(Edit(1, (_, cell) => $"  {cell} ")), null),
    ];

    public static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Iris with one column's cells rewritten (row index from 0).</summary>
    public static string Edit(int column, Func<int, string, string> edit) => EditText(Iris, column, edit);

    private static string EditText(string csv, int column, Func<int, string, string> edit)
    {
        var lines = csv.TrimEnd('\n').Split('\n');
        return lines[0] + "\n" + string.Join('\n', lines.Skip(1).Select((line, i) =>
        {
            var cells = line.Split(',');
            cells[column] = edit(i, cells[column]);
            return string.Join(',', cells);
        })) + "\n";
    }

    private static string Missing(Func<int, bool> rows, params int[] columns) =>
        columns.Aggregate(Iris, (csv, column) => EditText(csv, column, (i, cell) => rows(i) ? (column % 2 == 0 ? "NA" : "?") : cell));

    private static string Replace(int row, Func<string, string> edit) =>
        Header + "\n" + string.Join('\n', Rows.Select((r, i) => i == row ? edit(r) : r)) + "\n";

    private static string Drop(int column) =>
        string.Join('\n', Lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != column)))) + "\n";

    private static string WithColumns(int count) =>
        string.Join('\n', Lines.Select((l, i) => l + string.Concat(Enumerable.Range(0, count - 5).Select(c => i == 0 ? $",extra{c}" : ",1")))) + "\n";

    private static string Shift(string cell, double by) =>
        (double.Parse(cell, CultureInfo.InvariantCulture) + by).ToString(CultureInfo.InvariantCulture);

    private static byte[] Splice(string text, int row, byte[] bytes)
    {
        var lines = text.TrimEnd('\n').Split('\n');
        var before = Encoding.UTF8.GetBytes(string.Join('\n', lines.Take(row + 1)) + "\n");
        var after = Encoding.UTF8.GetBytes(lines[row + 1] + "\n" + string.Join('\n', lines.Skip(row + 2)) + "\n");
        return [.. before, .. bytes, .. after];
    }
}

/// <summary>A test file: its name, bytes, and the anomaly it must produce (null: accepted cleanly), optionally on a column.</summary>
public sealed record TrickyFile(string Name, byte[] Content, string? Code, string? Column = null)
{
    public override string ToString() => Name;
}
