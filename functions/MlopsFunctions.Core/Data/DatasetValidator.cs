using System.Globalization;
using System.Text.RegularExpressions;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Data;

/// <summary>What a file is checked against: its model's spec, the limits, and the production version's schema and training profile.</summary>
public sealed record ValidationContext
{
    public required string Model { get; init; }

    public required string Source { get; init; }

    public required ModelSpec Spec { get; init; }

    public required CsvLimits Limits { get; init; }

    /// <summary>Labelled rows needed when the spec does not say (the Mlops__MinRows setting).</summary>
    public int MinRows { get; init; } = 20;

    public int Seed { get; init; } = 42;

    /// <summary>The schema later data must keep to: production's, or null for a model's first data.</summary>
    public DatasetSchema? Reference { get; init; }

    /// <summary>The drift baseline: the production version's training profile.</summary>
    public DataProfile? ReferenceProfile { get; init; }

    public int? ReferenceVersion { get; init; }
}

/// <summary>
/// Validates and profiles a CSV in one streaming pass (memory bounded by the column count, never by the rows), the
/// checks TFX's SchemaGen/ExampleValidator and Great Expectations are trusted for: it infers or checks the schema,
/// applies the spec's constraints and limits, measures drift against production, and reports each problem once with
/// its count and a few examples. Errors reject the file; warnings are reported and the run goes on.
/// </summary>
public static partial class DatasetValidator
{
    /// <summary>Share of numeric cells above which a column is numeric, so its other cells are errors rather than categories.</summary>
    private const double NumericShare = 0.9;

    private const double DefaultNewCategoryFraction = 0.05;
    private const double DefaultPsiWarning = 0.2;
    private const int IdentifierMinRows = 20;

    /// <summary>A text column with at least this many distinct values per row (names, ids, free text) teaches a model nothing that generalizes.</summary>
    private const double IdentifierShare = 0.5;

    /// <summary>Categories seen fewer times than this share the model's "other" bucket with unseen values, so it is learnt.</summary>
    private const int MinVocabularyRows = 2;

    public static (ValidationReport Report, DataProfile? Profile) Validate(Stream content, ValidationContext context)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(context);
        var run = new Run(context);
        if (!context.Source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            run.Error(AnomalyCodes.NotCsv, null, $"'{Path.GetFileName(context.Source)}' is not a .csv file: upload comma-separated UTF-8 text with a header row, named *.csv.");
            return (run.Report(null), null);
        }

        try
        {
            using var csv = CsvSource.Open(content, context.Limits);
            return run.Execute(csv);
        }
        catch (CsvRejectedException ex)
        {
            run.Error(ex.Code, null, ex.Message, examples: ex.Line > 0 ? [new CellExample(ex.Line, null)] : null);
            return (run.Report(null), null);
        }
    }

    [GeneratedRegex(@"^(id|key|uuid|guid|index|row|rowid|row_id|.*[_ \-.]id|.*Id|.*ID)$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierName();

    /// <summary>The state of one validation: the findings so far and the columns' accumulators.</summary>
    private sealed class Run(ValidationContext context)
    {
        private readonly List<Anomaly> anomalies = [];
        private readonly ModelSpec spec = context.Spec;
        private readonly ValidationSpec constraints = context.Spec.Validation ?? new ValidationSpec();
        private readonly DatasetSchema? reference = context.Reference;
        private string? sha;
        private long bytes;
        private long rows;
        private long usable;
        private List<ColumnDrift>? drift;

        private int MaxCategories => constraints.MaxCategories ?? context.Limits.MaxCategories;

        private string ReferenceName => context.ReferenceVersion is { } v ? $"production v{v.ToString(CultureInfo.InvariantCulture)}" : "the production version";

        public void Error(string code, string? column, string message, long count = 1, IReadOnlyList<CellExample>? examples = null) =>
            anomalies.Add(new Anomaly(code, Severity.Error, column, message, count, examples));

        public void Warning(string code, string? column, string message, long count = 1, IReadOnlyList<CellExample>? examples = null) =>
            anomalies.Add(new Anomaly(code, Severity.Warning, column, message, count, examples));

        private bool HasErrors => anomalies.Exists(a => a.Severity == Severity.Error);

        public ValidationReport Report(DatasetSchema? schema) => new()
        {
            Model = context.Model,
            Source = context.Source,
            Accepted = !HasErrors,
            Anomalies = [.. anomalies.Where(a => a.Severity == Severity.Error), .. anomalies.Where(a => a.Severity == Severity.Warning)],
            Bytes = bytes,
            Rows = rows,
            UsableRows = usable,
            Schema = HasErrors ? null : schema,
            Drift = drift,
            ReferenceVersion = context.ReferenceVersion,
            Sha256 = sha,
            Spec = spec,
        };

        public (ValidationReport, DataProfile?) Execute(CsvSource csv)
        {
            var header = csv.Header;
            if (!CheckHeader(header))
            {
                return (Report(null), null);
            }

            var label = spec.Label!;
            var labelIndex = IndexOf(header, label);
            var features = SelectFeatures(header, label);
            var declared = new HashSet<string>(spec.Categorical ?? [], StringComparer.Ordinal);
            var columns = header.Select((name, i) => new ColumnAccumulator(name, ChecksFor(name, i == labelIndex, declared))).ToArray();

            long ragged = 0, unlabelled = 0;
            List<CellExample> raggedExamples = [], unlabelledExamples = [];
            while (csv.MoveNext())
            {
                var row = csv.Current;
                if (CsvSource.IsBlank(row))
                {
                    continue;
                }

                if (row.ColCount != header.Count)
                {
                    ragged++;
                    Remember(raggedExamples, csv.Line, $"{row.ColCount.ToString(CultureInfo.InvariantCulture)} fields");
                    continue;
                }

                rows++;
                if (Cells.IsMissing(row[labelIndex].Span))
                {
                    unlabelled++;
                    Remember(unlabelledExamples, csv.Line, null);
                    continue;
                }

                usable++;
                var line = csv.Line;
                for (var c = 0; c < columns.Length; c++)
                {
                    columns[c].Add(row[c].Span, line);
                }
            }

            sha = csv.Sha256();
            bytes = csv.BytesRead;
            CheckRows(csv, ragged, raggedExamples, unlabelled, unlabelledExamples);
            var byName = columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
            var decided = features.Select(f => Decide(byName[f], declared)).ToList();
            var schema = CheckLabel(byName[label]) with
            {
                Featurization = DatasetSchema.CurrentFeaturization,
                Columns = decided.Where(d => d.Column is not null).Select(d => d.Column!).ToList(),
                Ignored = Ignored(header, label, features, decided),
            };
            if (schema.Columns.Count == 0 && features.Count > 0 && !HasErrors)
            {
                Error(AnomalyCodes.NoFeatures, null, "No column is left to learn from: every feature is ignored. List the features in the spec's 'features'.");
            }
            else if (features.Count == 0)
            {
                Error(AnomalyCodes.NoFeatures, null, "The model has no feature columns: the file has only the label and ignored columns.");
            }

            CheckConstraints(byName, features);
            CheckDrift(byName, [label, .. features]);
            var profile = new DataProfile
            {
                Rows = rows,
                UsableRows = usable,
                Columns = columns.Select(c => c.ToProfile(RoleOf(c.Name, label, schema), KindOf(c, label, decided))).ToList(),
            };
            return (Report(schema), profile);
        }

        private bool CheckHeader(IReadOnlyList<string> header)
        {
            if (header.Any(string.IsNullOrEmpty))
            {
                var positions = header.Select((h, i) => (h, i)).Where(x => x.h.Length == 0).Select(x => (x.i + 1).ToString(CultureInfo.InvariantCulture));
                Error(AnomalyCodes.EmptyColumnName, null, $"The header has an empty column name (column {string.Join(", ", positions)}): name every column.");
            }

            foreach (var duplicate in header.Where(h => h.Length > 0).GroupBy(h => h, StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                Error(AnomalyCodes.DuplicateColumn, duplicate.Key,
                    $"The header names column '{duplicate.Key}' {duplicate.Count()} times: column names must be unique.", duplicate.Count());
            }

            if (HasErrors)
            {
                return false;
            }

            if (IndexOf(header, spec.Label!) < 0)
            {
                Error(AnomalyCodes.MissingLabel, spec.Label,
                    $"The CSV has no column '{spec.Label}' (the spec's label). Its columns are: {Shorten(string.Join(", ", header))}.");
                return false;
            }

            return true;
        }

        private List<string> SelectFeatures(IReadOnlyList<string> header, string label)
        {
            var ignore = new HashSet<string>(spec.Ignore ?? [], StringComparer.Ordinal);
            foreach (var absent in ignore.Where(c => IndexOf(header, c) < 0))
            {
                Warning(AnomalyCodes.IgnoredColumnAbsent, absent, $"Ignored column '{absent}' is not in the file.");
            }

            if (spec.Features is not null)
            {
                var absent = spec.Features.Where(f => IndexOf(header, f) < 0).ToList();
                foreach (var column in absent)
                {
                    Error(AnomalyCodes.MissingColumn, column,
                        $"The CSV lacks feature column '{column}' named in the spec. Its columns are: {Shorten(string.Join(", ", header))}.");
                }

                return spec.Features.Where(f => IndexOf(header, f) >= 0).ToList();
            }

            // Without a feature list, every column the production version reads must still be there, unless the
            // spec now ignores it on purpose.
            foreach (var column in reference?.Features.Where(f => IndexOf(header, f) < 0 && !ignore.Contains(f)) ?? [])
            {
                Error(AnomalyCodes.MissingColumn, column,
                    $"The file lacks column '{column}', which {ReferenceName} reads: add it back, or add it to the spec's 'ignore' to train without it.");
            }

            return header.Where(c => c != label && !ignore.Contains(c)).ToList();
        }

        private ColumnChecks ChecksFor(string name, bool isLabel, HashSet<string> declared)
        {
            var referenceColumn = reference?.Find(name);
            var constraint = constraints.Columns?.GetValueOrDefault(name);
            var baseline = context.ReferenceProfile?.Find(name)?.Baseline;
            var countCategories = isLabel ? spec.TaskType != MlTask.Regression : declared.Contains(name) || referenceColumn?.Kind == ColumnKind.Categorical;
            return new ColumnChecks(MaxCategories, countCategories, (ulong)context.Seed)
            {
                Min = constraint?.Min,
                Max = constraint?.Max,
                ReferenceDomain = referenceColumn is { Kind: ColumnKind.Categorical, Domain: { } domain } ? new HashSet<string>(domain, StringComparer.Ordinal) : null,
                DriftCuts = baseline?.Cuts,
            };
        }

        private void CheckRows(CsvSource csv, long ragged, List<CellExample> raggedExamples, long unlabelled, List<CellExample> unlabelledExamples)
        {
            if (csv.EndsInsideQuotes)
            {
                Error(AnomalyCodes.UnclosedQuote, null,
                    "The file ends inside a quoted field: a quote is never closed, or the file was cut short (truncated). Check the last lines and upload it whole.");
            }

            if (ragged > 0)
            {
                Error(AnomalyCodes.RaggedRow, null,
                    $"{ragged.ToString(CultureInfo.InvariantCulture)} row(s) do not have {csv.Header.Count.ToString(CultureInfo.InvariantCulture)} fields like the header " +
                    $"(first at line {raggedExamples[0].Line.ToString(CultureInfo.InvariantCulture)}): quote fields that contain commas, and check for truncated lines.",
                    ragged, raggedExamples);
            }

            if (rows == 0 && ragged == 0)
            {
                Error(AnomalyCodes.HeaderOnly, null, "The file has a header but no data rows.");
                return;
            }

            if (unlabelled > 0)
            {
                Warning(AnomalyCodes.UnlabelledRows, spec.Label,
                    $"{unlabelled.ToString(CultureInfo.InvariantCulture)} row(s) have no '{spec.Label}' value and are not used.", unlabelled, unlabelledExamples);
            }

            var minRows = constraints.MinRows ?? context.MinRows;
            if (usable < minRows)
            {
                Error(AnomalyCodes.TooFewRows, null,
                    $"The file has {usable.ToString(CultureInfo.InvariantCulture)} usable row(s) (with a label); at least {minRows.ToString(CultureInfo.InvariantCulture)} are needed to train and evaluate " +
                    "(the spec's validation.minRows, or the setting Mlops__MinRows).", usable);
            }
        }

        /// <summary>Decides a feature's kind (declared, production's, or inferred) and reports what contradicts it.</summary>
        private Decision Decide(ColumnAccumulator a, HashSet<string> declared)
        {
            var name = a.Name;
            var referenceColumn = reference?.Find(name);
            var listed = spec.Features?.Contains(name) == true;
            var mayIgnore = !listed && referenceColumn is null && !declared.Contains(name);
            if (reference is { Featurization: >= FeaturizationVersions.Typed } && referenceColumn is null && !reference.Ignored.Any(i => i.Name == name))
            {
                Warning(AnomalyCodes.NewColumn, name, $"Column '{name}' is new: {ReferenceName} did not read it. The new version learns from it.");
            }

            if (a.Present == 0)
            {
                Error(AnomalyCodes.EmptyColumn, name,
                    $"Feature column '{name}' has no values in {usable.ToString(CultureInfo.InvariantCulture)} labelled row(s): fill it or add it to 'ignore'.", a.Missing);
                return new Decision(name, null, null);
            }

            var kind = declared.Contains(name) ? ColumnKind.Categorical : referenceColumn?.Kind ?? Infer(a);
            switch (kind)
            {
                case ColumnKind.Numeric:
                    if (mayIgnore && a.AllIntegers && a.Present >= IdentifierMinRows && a.DistinctEstimate >= 0.99 * a.Present &&
                        (a.Increasing || IdentifierName().IsMatch(name)))
                    {
                        return Identifier(a, "an integer that differs in every row");
                    }

                    CheckParsed(a, a.NonNumeric, referenceColumn, "numbers", "fix them, leave them empty, or list the column in 'categorical'");
                    break;
                case ColumnKind.Boolean:
                    CheckParsed(a, a.Present - a.BooleanCount - a.NumericCount, referenceColumn, "true/false values", "use true/false, yes/no or 1/0");
                    break;
                case ColumnKind.Date:
                    CheckParsed(a, a.Present - a.DateCount, referenceColumn, "dates (yyyy-MM-dd)", "write dates as yyyy-MM-dd");
                    break;
                case ColumnKind.DateTime:
                    CheckParsed(a, a.Present - a.DateCount - a.DateTimeCount, referenceColumn, "ISO 8601 date-times", "write them as yyyy-MM-ddTHH:mm:ss");
                    break;
                default:
                    if (a.CategoriesOverflowed || a.CategoriesStopped)
                    {
                        if (mayIgnore && a.DistinctEstimate >= IdentifierShare * a.Present)
                        {
                            return Identifier(a, $"about {a.DistinctEstimate.ToString(CultureInfo.InvariantCulture)} distinct values in {a.Present.ToString(CultureInfo.InvariantCulture)} rows");
                        }

                        Error(AnomalyCodes.TooManyCategories, name,
                            $"Column '{name}' has more than {MaxCategories.ToString(CultureInfo.InvariantCulture)} distinct values, the limit for a categorical column " +
                            "(the spec's validation.maxCategories, or the setting Mlops__MaxCategories): add it to 'ignore', or raise the limit.",
                            a.DistinctEstimate);
                        return new Decision(name, null, null);
                    }

                    if (mayIgnore && a.Present >= IdentifierMinRows && a.Categories.Count >= IdentifierShare * a.Present)
                    {
                        return Identifier(a, $"{a.Categories.Count.ToString(CultureInfo.InvariantCulture)} distinct values in {a.Present.ToString(CultureInfo.InvariantCulture)} rows");
                    }

                    CheckNewCategories(a, referenceColumn);
                    break;
            }

            var column = kind == ColumnKind.Categorical
                ? new FeatureColumn(name, kind, a.Missing > 0,
                    a.Categories.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Key).ToList(),
                    a.Categories.Where(c => c.Value >= MinVocabularyRows).Select(c => c.Key).Order(StringComparer.Ordinal).ToList())
                : new FeatureColumn(name, kind, a.Missing > 0);
            return new Decision(name, column, null);
        }

        private Decision Identifier(ColumnAccumulator a, string why)
        {
            var reason = $"identifier-like ({why}): it would let a model memorise rows. List it in the spec's 'features' to use it anyway.";
            Warning(AnomalyCodes.IdentifierColumn, a.Name, $"Column '{a.Name}' is ignored as {reason}", a.Present);
            return new Decision(a.Name, null, reason);
        }

        private static ColumnKind Infer(ColumnAccumulator a)
        {
            if (a.NumericCount >= NumericShare * a.Present)
            {
                return ColumnKind.Numeric;
            }

            if (a.BooleanCount + a.NumericCount == a.Present && a.BooleanCount > 0)
            {
                return ColumnKind.Boolean;
            }

            if (a.DateCount == a.Present)
            {
                return ColumnKind.Date;
            }

            return a.DateCount + a.DateTimeCount == a.Present ? ColumnKind.DateTime : ColumnKind.Categorical;
        }

        private void CheckParsed(ColumnAccumulator a, long bad, FeatureColumn? referenceColumn, string what, string fix)
        {
            if (bad <= 0)
            {
                return;
            }

            var examples = a.NonNumericExamples.Count > 0 ? a.NonNumericExamples : null;
            var counts = $"{bad.ToString(CultureInfo.InvariantCulture)} of {a.Present.ToString(CultureInfo.InvariantCulture)} value(s)";
            if (referenceColumn is not null && bad > (1 - NumericShare) * a.Present)
            {
                Error(AnomalyCodes.TypeChange, a.Name,
                    $"Column '{a.Name}' held {what} in {ReferenceName}, but {counts} here are not {what}{FirstExample(examples)}: fix the file, or PUT a spec that reflects the new type.",
                    bad, examples);
                return;
            }

            Error(AnomalyCodes.TypeMismatch, a.Name, $"Column '{a.Name}' holds {what}, but {counts} do not parse{FirstExample(examples)}: {fix}.", bad, examples);
        }

        private void CheckNewCategories(ColumnAccumulator a, FeatureColumn? referenceColumn)
        {
            if (referenceColumn?.Domain is null || a.NewCategories == 0)
            {
                return;
            }

            var tolerance = constraints.MaxNewCategoryFraction ?? DefaultNewCategoryFraction;
            var share = (double)a.NewCategories / a.Present;
            var values = string.Join(", ", a.NewCategoryExamples.Select(e => $"'{e.Value}'").Distinct());
            var message = $"Column '{a.Name}' has {a.NewCategories.ToString(CultureInfo.InvariantCulture)} value(s) ({share.ToString("P1", CultureInfo.InvariantCulture)}) " +
                          $"in categories {ReferenceName} never saw ({values})";
            if (share > tolerance)
            {
                Error(AnomalyCodes.NewCategories, a.Name,
                    $"{message}, over the tolerance of {tolerance.ToString("P1", CultureInfo.InvariantCulture)} (the spec's validation.maxNewCategoryFraction): check the data, or raise the tolerance.",
                    a.NewCategories, a.NewCategoryExamples);
            }
            else
            {
                Warning(AnomalyCodes.NewCategories, a.Name, $"{message}; under the tolerance of {tolerance.ToString("P1", CultureInfo.InvariantCulture)}, so the run goes on.",
                    a.NewCategories, a.NewCategoryExamples);
            }
        }

        /// <summary>Checks the label for the task, against production's label values, and decides the binary mapping.</summary>
        private DatasetSchema CheckLabel(ColumnAccumulator a)
        {
            var label = a.Name;
            var schema = new DatasetSchema { Task = spec.TaskType, Label = label };
            if (spec.TaskType == MlTask.Regression)
            {
                if (a.NonNumeric > 0)
                {
                    Error(AnomalyCodes.TypeMismatch, label,
                        $"The label '{label}' of a regression must be numeric, but {a.NonNumeric.ToString(CultureInfo.InvariantCulture)} value(s) are not numbers{FirstExample(a.NonNumericExamples)}.",
                        a.NonNumeric, a.NonNumericExamples);
                }

                return schema;
            }

            if (a.CategoriesOverflowed)
            {
                Error(AnomalyCodes.TooManyCategories, label,
                    $"The label '{label}' has more than {MaxCategories.ToString(CultureInfo.InvariantCulture)} classes (the spec's validation.maxCategories, or Mlops__MaxCategories): is it really a classification?");
                return schema;
            }

            var counts = a.Categories;
            var values = counts.Keys.Order(StringComparer.Ordinal).ToList();
            schema = schema with { LabelValues = values };
            foreach (var rare in counts.Where(c => c.Value < 2).Select(c => c.Key).Order(StringComparer.Ordinal))
            {
                Warning(AnomalyCodes.SingleRowClass, label, $"Class '{rare}' has a single row: it cannot be both trained on and evaluated.");
            }

            if (constraints.MinRowsPerClass is { } minPerClass && counts.Where(c => c.Value < minPerClass).ToList() is { Count: > 0 } small)
            {
                Error(AnomalyCodes.TooFewRowsPerClass, label,
                    $"Class(es) {string.Join(", ", small.Select(c => $"'{c.Key}' ({c.Value.ToString(CultureInfo.InvariantCulture)})"))} have fewer than {minPerClass.ToString(CultureInfo.InvariantCulture)} rows " +
                    "(the spec's validation.minRowsPerClass).", small.Count);
            }

            var known = reference?.LabelValues ?? reference?.Classes ??
                        (reference is { PositiveLabel: { } p, NegativeLabel: { } n } ? [p, n] : null);
            if (spec.TaskType == MlTask.Binary)
            {
                if (values.Count != 2)
                {
                    Error(AnomalyCodes.LabelValues, label,
                        $"A binary label needs exactly 2 distinct values; '{label}' has {values.Count.ToString(CultureInfo.InvariantCulture)}: {Shorten(string.Join(", ", values.Take(10)))}.");
                    return schema;
                }

                if (known is not null && !known.Order(StringComparer.Ordinal).SequenceEqual(values))
                {
                    Error(AnomalyCodes.NewLabelClass, label,
                        $"The label '{label}' has values {string.Join("/", values)}, but {ReferenceName} was trained on {string.Join("/", known.Order(StringComparer.Ordinal))}: fix the file, or PUT the spec again to start over.");
                    return schema;
                }

                var positive = reference?.PositiveLabel is { } p2 && values.Contains(p2) ? p2 : PositiveOf(counts);
                return schema with { PositiveLabel = positive, NegativeLabel = values.Single(v => v != positive) };
            }

            if (values.Count < 2)
            {
                Error(AnomalyCodes.LabelValues, label, $"A multiclass label needs at least 2 classes; '{label}' has {values.Count.ToString(CultureInfo.InvariantCulture)}.");
            }

            if (known is not null && values.Except(known, StringComparer.Ordinal).ToList() is { Count: > 0 } unseen)
            {
                var rowsOfNew = unseen.Sum(u => counts[u]);
                var message = $"The label '{label}' has class(es) {string.Join(", ", unseen.Select(u => $"'{u}'"))} ({rowsOfNew.ToString(CultureInfo.InvariantCulture)} rows) that {ReferenceName} never saw";
                if (constraints.AllowNewClasses == true)
                {
                    Warning(AnomalyCodes.NewLabelClass, label, $"{message}; allowed by the spec's validation.allowNewClasses.", rowsOfNew);
                }
                else
                {
                    Error(AnomalyCodes.NewLabelClass, label,
                        $"{message}: the two models could not be compared on them. Fix the file, or set validation.allowNewClasses to true in the spec.", rowsOfNew);
                }
            }

            return schema;
        }

        private void CheckConstraints(Dictionary<string, ColumnAccumulator> columns, List<string> features)
        {
            foreach (var (name, constraint) in constraints.Columns ?? new Dictionary<string, ColumnConstraint>())
            {
                if (!columns.TryGetValue(name, out var a))
                {
                    Warning(AnomalyCodes.MissingColumn, name, $"The spec's validation.columns names '{name}', which the file lacks.");
                    continue;
                }

                if (a.OutOfRange > 0)
                {
                    Error(AnomalyCodes.OutOfRange, name,
                        $"Column '{name}' has {a.OutOfRange.ToString(CultureInfo.InvariantCulture)} value(s) outside [{F(constraint.Min)}, {F(constraint.Max)}]{FirstExample(a.OutOfRangeExamples)} " +
                        $"(the spec's validation.columns.{name}).", a.OutOfRange, a.OutOfRangeExamples);
                }

                if (constraint.MaxMissingFraction is { } max && Share(a.Missing, a.Present + a.Missing) > max)
                {
                    Error(AnomalyCodes.MissingValues, name,
                        $"Column '{name}' is missing in {Share(a.Missing, a.Present + a.Missing).ToString("P1", CultureInfo.InvariantCulture)} of rows, over the {max.ToString("P1", CultureInfo.InvariantCulture)} " +
                        $"allowed by validation.columns.{name}.maxMissingFraction.", a.Missing);
                }
            }

            if (constraints.MaxMissingFraction is { } overall && features.Count > 0 && usable > 0)
            {
                var missing = features.Sum(f => columns[f].Missing);
                var share = Share(missing, usable * features.Count);
                if (share > overall)
                {
                    var worst = features.OrderByDescending(f => columns[f].Missing).First();
                    Error(AnomalyCodes.MissingValues, null,
                        $"{share.ToString("P1", CultureInfo.InvariantCulture)} of feature cells are missing, over the {overall.ToString("P1", CultureInfo.InvariantCulture)} allowed by validation.maxMissingFraction " +
                        $"(most in '{worst}': {columns[worst].Missing.ToString(CultureInfo.InvariantCulture)}).", missing);
                }
            }
        }

        private void CheckDrift(Dictionary<string, ColumnAccumulator> columns, List<string> names)
        {
            if (context.ReferenceProfile is not { } baseline)
            {
                return;
            }

            var warnAt = constraints.Drift?.PsiWarning ?? DefaultPsiWarning;
            var failAt = constraints.Drift?.PsiError;
            drift = [];
            foreach (var name in names)
            {
                if (baseline.Find(name)?.Baseline is not { } b || Psi.Of(b, columns[name]) is not { } psi)
                {
                    continue;
                }

                var level = psi > failAt ? "error" : psi > warnAt ? "warning" : "ok";
                drift.Add(new ColumnDrift(name, Math.Round(psi, 4), level));
                if (level == "ok")
                {
                    continue;
                }

                var noisy = usable < 100 ? $" (on {usable.ToString(CultureInfo.InvariantCulture)} rows PSI is noisy)" : string.Empty;
                var message = $"Column '{name}' drifted from {ReferenceName}'s training data: PSI {psi.ToString("0.###", CultureInfo.InvariantCulture)}{noisy}";
                if (level == "error")
                {
                    Error(AnomalyCodes.Drift, name, $"{message}, over the spec's validation.drift.psiError {F(failAt)}.");
                }
                else
                {
                    Warning(AnomalyCodes.Drift, name, $"{message}, over {F(warnAt)} (validation.drift.psiWarning).");
                }
            }
        }

        private List<IgnoredColumn> Ignored(IReadOnlyList<string> header, string label, List<string> features, List<Decision> decided)
        {
            var ignored = new List<IgnoredColumn>();
            var ignore = new HashSet<string>(spec.Ignore ?? [], StringComparer.Ordinal);
            foreach (var column in header.Where(c => c != label))
            {
                if (ignore.Contains(column))
                {
                    ignored.Add(new IgnoredColumn(column, "listed in the spec's 'ignore'"));
                }
                else if (!features.Contains(column))
                {
                    ignored.Add(new IgnoredColumn(column, "not listed in the spec's 'features'"));
                }
            }

            ignored.AddRange(decided.Where(d => d.IgnoredReason is not null).Select(d => new IgnoredColumn(d.Name, d.IgnoredReason!)));
            return ignored;
        }

        private static string RoleOf(string column, string label, DatasetSchema schema) =>
            column == label ? "label" : schema.Find(column) is not null ? "feature" : "ignored";

        private string KindOf(ColumnAccumulator a, string label, List<Decision> decided)
        {
            if (a.Present == 0)
            {
                return "empty";
            }

            if (a.Name == label)
            {
                return spec.TaskType == MlTask.Regression ? "numeric" : "categorical";
            }

            var kind = decided.FirstOrDefault(d => d.Name == a.Name)?.Column?.Kind ?? Infer(a);
            return System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(kind.ToString());
        }

        private static int IndexOf(IReadOnlyList<string> header, string column)
        {
            for (var i = 0; i < header.Count; i++)
            {
                if (string.Equals(header[i], column, StringComparison.Ordinal))
                {
                    return i;
                }
            }

            return -1;
        }

        private static void Remember(List<CellExample> examples, long line, string? value)
        {
            if (examples.Count < ColumnAccumulator.ExampleLimit)
            {
                examples.Add(new CellExample(line, value));
            }
        }

        private static string FirstExample(List<CellExample>? examples) =>
            examples is { Count: > 0 } ? $" (line {examples[0].Line.ToString(CultureInfo.InvariantCulture)}: '{examples[0].Value}')" : string.Empty;

        private static double Share(long part, long whole) => whole == 0 ? 0 : (double)part / whole;

        private static string F(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture) ?? "any";

        private static string Shorten(string text) => text.Length <= 300 ? text : text[..297] + "...";

        /// <summary>true/1/yes/positive when the values say so; otherwise the rarer class, as is usual for the class of interest.</summary>
        private static string PositiveOf(IReadOnlyDictionary<string, long> counts)
        {
            string[] positives = ["true", "1", "yes", "positive", "y", "t"];
            foreach (var p in positives)
            {
                var match = counts.Keys.FirstOrDefault(k => string.Equals(k, p, StringComparison.OrdinalIgnoreCase));
                if (match is not null)
                {
                    return match;
                }
            }

            return counts.OrderBy(c => c.Value).ThenByDescending(c => c.Key, StringComparer.Ordinal).First().Key;
        }
    }

    private sealed record Decision(string Name, FeatureColumn? Column, string? IgnoredReason);
}
