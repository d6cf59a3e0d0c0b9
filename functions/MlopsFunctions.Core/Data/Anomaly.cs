namespace MlopsFunctions.Core.Data;

/// <summary>How bad a finding is: an error rejects the file, a warning is reported and the run goes on.</summary>
public enum Severity
{
    Error,
    Warning,
}

/// <summary>
/// One problem found in a file, TFX-style: a stable code, its severity, the column it concerns, a sentence saying
/// what to do, how often it occurred, and at most a few examples with their line, never every occurrence.
/// </summary>
public sealed record Anomaly(
    string Code,
    Severity Severity,
    string? Column,
    string Message,
    long Count = 1,
    IReadOnlyList<CellExample>? Examples = null);

/// <summary>Where a problem occurred: the 1-based line of the file and the cell's value (shortened).</summary>
public sealed record CellExample(long Line, string? Value);

/// <summary>Contract codes of anomalies (reports and tests refer to them).</summary>
public static class AnomalyCodes
{
    public const string NotCsv = "not-csv";
    public const string EmptyFile = "empty-file";
    public const string HeaderOnly = "header-only";
    public const string Binary = "binary-file";
    public const string InvalidUtf8 = "invalid-utf8";
    public const string FileTooLarge = "file-too-large";
    public const string TooManyColumns = "too-many-columns";
    public const string LineTooLong = "line-too-long";
    public const string UnclosedQuote = "unclosed-quote";
    public const string RaggedRow = "ragged-row";
    public const string DuplicateColumn = "duplicate-column";
    public const string EmptyColumnName = "empty-column-name";
    public const string MissingLabel = "missing-label-column";
    public const string MissingColumn = "missing-column";
    public const string TypeMismatch = "type-mismatch";
    public const string TypeChange = "type-change";
    public const string EmptyColumn = "empty-column";
    public const string TooManyCategories = "too-many-categories";
    public const string NewCategories = "new-categories";
    public const string NewLabelClass = "new-label-class";
    public const string LabelValues = "label-values";
    public const string UnlabelledRows = "unlabelled-rows";
    public const string TooFewRows = "too-few-rows";
    public const string TooFewRowsPerClass = "too-few-rows-per-class";
    public const string MissingValues = "missing-values";
    public const string OutOfRange = "out-of-range";
    public const string IdentifierColumn = "identifier-column";
    public const string IgnoredColumnAbsent = "ignored-column-absent";
    public const string NewColumn = "new-column";
    public const string NoFeatures = "no-features";
    public const string Drift = "drift";
    public const string SingleRowClass = "single-row-class";
    public const string NoSpec = "no-spec";
    public const string Unreadable = "unreadable";
}
