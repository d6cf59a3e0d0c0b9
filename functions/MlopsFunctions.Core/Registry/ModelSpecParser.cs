using System.Text.Json;
using MlopsFunctions.Core.Evaluation;
using NCrontab;

namespace MlopsFunctions.Core.Registry;

/// <summary>Turns a spec body into a <see cref="ModelSpec"/> or into every reason it is unusable, so a user fixes them all at once.</summary>
public static class ModelSpecParser
{
    private static readonly HashSet<string> KnownFields = new(StringComparer.Ordinal)
    {
        "task", "label", "features", "ignore", "categorical", "metric", "gates", "promotion", "retrainSchedule",
    };

    private static readonly HashSet<string> KnownGateFields = new(StringComparer.Ordinal)
    {
        "minMetric", "maxMetric", "minImprovement",
    };

    public static SpecParseResult Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            return SpecParseResult.Fail($"The body is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return SpecParseResult.Fail("The spec must be a JSON object.");
            }

            var errors = new List<string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!KnownFields.Contains(property.Name))
                {
                    errors.Add($"Unknown field '{property.Name}'; known fields are {string.Join(", ", KnownFields)}.");
                }
                else if (property.Name == "gates" && property.Value.ValueKind == JsonValueKind.Object)
                {
                    errors.AddRange(property.Value.EnumerateObject()
                        .Where(g => !KnownGateFields.Contains(g.Name))
                        .Select(g => $"Unknown gate '{g.Name}'; known gates are {string.Join(", ", KnownGateFields)}."));
                }
            }

            ModelSpec spec;
            try
            {
                spec = document.RootElement.Deserialize<ModelSpec>(Json.Options)!;
            }
            catch (JsonException ex)
            {
                errors.Add($"A field has the wrong type: {ex.Message}");
                return new SpecParseResult(null, errors);
            }

            errors.AddRange(Validate(spec));
            return new SpecParseResult(errors.Count == 0 ? spec : null, errors);
        }
    }

    public static IReadOnlyList<string> Validate(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<string>();
        var task = spec.Task is null ? null : MlTaskNames.Parse(spec.Task);
        if (string.IsNullOrWhiteSpace(spec.Task))
        {
            errors.Add("Field 'task' is required: one of regression, binary, multiclass.");
        }
        else if (task is null)
        {
            errors.Add($"Unknown task '{spec.Task}': use regression, binary or multiclass.");
        }

        if (string.IsNullOrWhiteSpace(spec.Label))
        {
            errors.Add("Field 'label' is required: the name of the label column, exactly as in the CSV header.");
        }

        CheckNames("features", spec.Features, errors);
        CheckNames("ignore", spec.Ignore, errors);
        CheckNames("categorical", spec.Categorical, errors);
        if (spec.Label is not null)
        {
            if (spec.Features?.Contains(spec.Label) == true)
            {
                errors.Add($"The label '{spec.Label}' cannot also be a feature.");
            }

            if (spec.Ignore?.Contains(spec.Label) == true)
            {
                errors.Add($"The label '{spec.Label}' cannot be ignored.");
            }
        }

        if (spec.Features is not null && spec.Ignore is not null)
        {
            errors.AddRange(spec.Features.Intersect(spec.Ignore, StringComparer.Ordinal)
                .Select(c => $"Column '{c}' is both a feature and ignored."));
        }

        if (spec.Features is { Count: 0 })
        {
            errors.Add("Field 'features' is empty: list at least one column, or leave it out to use every column but label and ignore.");
        }

        if (task is not null)
        {
            CheckMetricAndGates(spec, task.Value, errors);
        }

        if (spec.Promotion is not null and not ("auto" or "manual"))
        {
            errors.Add($"Unknown promotion '{spec.Promotion}': use auto or manual.");
        }

        if (spec.RetrainSchedule is not null &&
            CrontabSchedule.TryParse(spec.RetrainSchedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true }) is null)
        {
            errors.Add($"retrainSchedule '{spec.RetrainSchedule}' is not a 6-field NCRONTAB expression (second minute hour day month weekday), e.g. \"0 0 3 * * *\".");
        }

        return errors;
    }

    private static void CheckMetricAndGates(ModelSpec spec, MlTask task, List<string> errors)
    {
        var metric = spec.Metric ?? MetricCatalog.DefaultFor(task);
        var info = MetricCatalog.Find(task, metric);
        if (info is null)
        {
            errors.Add($"Unknown metric '{metric}' for task {task.ToName()}: use one of {string.Join(", ", MetricCatalog.For(task).Select(m => m.Name))}.");
            return;
        }

        if (spec.Gates?.MinMetric is not null && !info.HigherIsBetter)
        {
            errors.Add($"Metric {metric} is better when lower: set gates.maxMetric instead of gates.minMetric.");
        }

        if (spec.Gates?.MaxMetric is not null && info.HigherIsBetter)
        {
            errors.Add($"Metric {metric} is better when higher: set gates.minMetric instead of gates.maxMetric.");
        }

        if (spec.Gates?.MinImprovement is < 0)
        {
            errors.Add("gates.minImprovement cannot be negative: it is how much a candidate must beat production by.");
        }
    }

    private static void CheckNames(string field, IReadOnlyList<string>? names, List<string> errors)
    {
        if (names is null)
        {
            return;
        }

        if (names.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"Field '{field}' has an empty column name.");
        }

        errors.AddRange(names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"Field '{field}' lists column '{g.Key}' more than once."));
    }
}

/// <summary>A parsed spec, or the reasons it was refused.</summary>
public sealed record SpecParseResult(ModelSpec? Spec, IReadOnlyList<string> Errors)
{
    public static SpecParseResult Fail(string error) => new(null, [error]);
}
