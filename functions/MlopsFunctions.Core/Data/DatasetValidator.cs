using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// Decides whether a file can be trained on under a spec, and how each column is read. Rows without a label are
/// dropped with a warning (real data has them); anything that would make a model silently wrong is an error.
/// </summary>
public static class DatasetValidator
{
    /// <summary>Share of numeric cells above which a column is taken as numeric, so its other cells are errors rather than categories.</summary>
    private const double NumericShare = 0.9;

    private const int ExampleLimit = 5;

    public static (ValidationReport Report, CsvTable? Table) Validate(
        string model, string source, string content, ModelSpec spec, int minRows)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<string>();
        var warnings = new List<string>();
        ValidationReport Reject(string error, int rows = 0) => new()
        {
            Model = model, Source = source, Accepted = false, Errors = [.. errors, error], Warnings = warnings, Rows = rows, Spec = spec,
        };

        if (!source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            return (Reject($"'{Path.GetFileName(source)}' is not a .csv file: upload comma-separated text with a header row, named *.csv."), null);
        }

        CsvTable table;
        try
        {
            table = CsvParser.Parse(content);
        }
        catch (CsvFormatException ex)
        {
            return (Reject($"The file is not valid CSV: {ex.Message}"), null);
        }

        if (table.Rows.Count == 0)
        {
            return (Reject("The file has a header but no data rows."), null);
        }

        var label = spec.Label!;
        var labelIndex = table.IndexOf(label);
        if (labelIndex < 0)
        {
            return (Reject($"The CSV has no column '{label}' (the spec's label). Its columns are: {string.Join(", ", table.Columns)}.", table.Rows.Count), null);
        }

        var ignore = new HashSet<string>(spec.Ignore ?? [], StringComparer.Ordinal);
        foreach (var missing in ignore.Where(c => table.IndexOf(c) < 0))
        {
            warnings.Add($"Ignored column '{missing}' is not in the file.");
        }

        List<string> features;
        if (spec.Features is not null)
        {
            var absent = spec.Features.Where(f => table.IndexOf(f) < 0).ToList();
            if (absent.Count > 0)
            {
                errors.Add($"The CSV lacks feature column(s) {string.Join(", ", absent.Select(a => $"'{a}'"))} named in the spec. Its columns are: {string.Join(", ", table.Columns)}.");
            }

            features = spec.Features.Where(f => table.IndexOf(f) >= 0).ToList();
        }
        else
        {
            features = table.Columns.Where(c => c != label && !ignore.Contains(c)).ToList();
        }

        var labelled = Enumerable.Range(0, table.Rows.Count).Where(r => !Cells.IsMissing(table.Rows[r][labelIndex])).ToList();
        if (labelled.Count < table.Rows.Count)
        {
            warnings.Add($"{table.Rows.Count - labelled.Count} row(s) have no '{label}' value and are not used.");
        }

        var declaredCategorical = new HashSet<string>(spec.Categorical ?? [], StringComparer.Ordinal);
        foreach (var c in declaredCategorical.Where(c => !features.Contains(c)))
        {
            warnings.Add($"Categorical column '{c}' is not a feature of this model.");
        }

        var numeric = new List<string>();
        var categorical = new List<string>();
        var profiles = new List<ColumnProfile>();
        foreach (var feature in features)
        {
            var index = table.IndexOf(feature);
            var cells = labelled.Select(r => table.Rows[r][index]).ToList();
            var present = cells.Count(c => !Cells.IsMissing(c));
            if (present == 0)
            {
                errors.Add($"Feature column '{feature}' has no values: fill it or add it to 'ignore'.");
                continue;
            }

            if (declaredCategorical.Contains(feature))
            {
                categorical.Add(feature);
                profiles.Add(Profile(feature, "categorical", cells));
                continue;
            }

            var bad = BadNumbers(labelled, table, index);
            if (bad.Count == 0)
            {
                numeric.Add(feature);
                profiles.Add(Profile(feature, "numeric", cells));
            }
            else if (present - bad.Count >= NumericShare * present)
            {
                errors.Add($"Column '{feature}' is numeric but {Examples(bad)} do not parse as numbers: fix them, leave them empty, or list the column in 'categorical'.");
            }
            else
            {
                categorical.Add(feature);
                profiles.Add(Profile(feature, "categorical", cells));
            }
        }

        if (features.Count == 0)
        {
            errors.Add("The model has no feature columns: the file has only the label and ignored columns.");
        }

        var labels = labelled.Select(r => table.Rows[r][labelIndex].Trim()).ToList();
        profiles.Insert(0, Profile(label, "label", labels));
        var schema = CheckLabel(spec.TaskType, label, labels, labelled, table, labelIndex, errors, warnings) with
        {
            NumericFeatures = numeric,
            CategoricalFeatures = categorical,
        };

        if (labelled.Count < minRows)
        {
            errors.Add($"The file has {labelled.Count} usable row(s) (with a label); at least {minRows} are needed to train and evaluate.");
        }

        var accepted = errors.Count == 0;
        var report = new ValidationReport
        {
            Model = model,
            Source = source,
            Accepted = accepted,
            Errors = errors,
            Warnings = warnings,
            Rows = table.Rows.Count,
            UsableRows = labelled.Count,
            Schema = accepted ? schema : null,
            Columns = profiles,
            Spec = spec,
        };
        return (report, accepted ? table : null);
    }

    private static DatasetSchema CheckLabel(
        MlTask task, string label, List<string> labels, List<int> rows, CsvTable table, int labelIndex,
        List<string> errors, List<string> warnings)
    {
        var schema = new DatasetSchema { Task = task, Label = label, NumericFeatures = [], CategoricalFeatures = [] };
        var distinct = labels.GroupBy(l => l, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        switch (task)
        {
            case MlTask.Regression:
                var bad = BadNumbers(rows, table, labelIndex);
                if (bad.Count > 0)
                {
                    errors.Add($"The label '{label}' of a regression must be numeric, but {Examples(bad)} are not numbers.");
                }

                return schema;
            case MlTask.Binary:
                if (distinct.Count != 2)
                {
                    errors.Add($"A binary label needs exactly 2 distinct values; '{label}' has {distinct.Count}: {string.Join(", ", distinct.Keys.Take(10))}.");
                    return schema;
                }

                var positive = PositiveOf(distinct);
                return schema with { PositiveLabel = positive, NegativeLabel = distinct.Keys.Single(k => k != positive) };
            default:
                if (distinct.Count < 2)
                {
                    errors.Add($"A multiclass label needs at least 2 classes; '{label}' has {distinct.Count}.");
                }

                foreach (var rare in distinct.Where(d => d.Value < 2))
                {
                    warnings.Add($"Class '{rare.Key}' has a single row: it cannot be both trained on and evaluated.");
                }

                return schema;
        }
    }

    /// <summary>true/1/yes/positive when the values say so; otherwise the rarer class, as is usual for the class of interest.</summary>
    private static string PositiveOf(Dictionary<string, int> counts)
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

    private static List<(int Line, string Value)> BadNumbers(List<int> rows, CsvTable table, int index) =>
        rows.Where(r => !Cells.IsMissing(table.Rows[r][index]) && !Cells.TryNumber(table.Rows[r][index], out _))
            .Select(r => (Line: r + 2, Value: table.Rows[r][index]))
            .ToList();

    private static string Examples(List<(int Line, string Value)> bad) =>
        $"{bad.Count} value(s) (" +
        string.Join(", ", bad.Take(ExampleLimit).Select(b => $"line {b.Line}: '{b.Value}'")) +
        (bad.Count > ExampleLimit ? ", ..." : string.Empty) + ")";

    private static ColumnProfile Profile(string name, string role, List<string> cells)
    {
        var present = cells.Where(c => !Cells.IsMissing(c)).ToList();
        var numbers = present.Select(c => Cells.TryNumber(c, out var v) ? v : (double?)null).ToList();
        var isNumeric = present.Count > 0 && numbers.All(n => n.HasValue);
        return new ColumnProfile(
            name,
            role,
            cells.Count - present.Count,
            present.Distinct(StringComparer.Ordinal).Count(),
            isNumeric ? numbers.Min() : null,
            isNumeric ? numbers.Max() : null,
            isNumeric ? numbers.Average() : null);
    }
}
