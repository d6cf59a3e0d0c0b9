using System.Text.Json;
using MlopsFunctions.Core.Evaluation;
using NCrontab;

namespace MlopsFunctions.Core.Registry;

/// <summary>Turns a spec body into a <see cref="ModelSpec"/> or into every reason it is unusable, so a user fixes them all at once.</summary>
public static class ModelSpecParser
{
    /// <summary>Every field a spec may have, nested; "*" stands for any key (column names).</summary>
    private static readonly FieldTree Fields = new()
    {
        ["task"] = null, ["label"] = null, ["features"] = null, ["ignore"] = null, ["categorical"] = null, ["metric"] = null,
        ["gates"] = new() { ["minMetric"] = null, ["maxMetric"] = null, ["minImprovement"] = null, ["confidence"] = null },
        ["promotion"] = null, ["retrainSchedule"] = null,
        ["validation"] = new()
        {
            ["minRows"] = null, ["maxMissingFraction"] = null, ["minRowsPerClass"] = null, ["maxNewCategoryFraction"] = null,
            ["maxCategories"] = null, ["allowNewClasses"] = null,
            ["columns"] = new() { ["*"] = new() { ["min"] = null, ["max"] = null, ["maxMissingFraction"] = null } },
            ["drift"] = new() { ["psiWarning"] = null, ["psiError"] = null },
        },
        ["trainers"] = null, ["trainOn"] = null,
        ["retention"] = new() { ["days"] = null },
        ["onIncomparable"] = null,
        ["monitoring"] = new()
        {
            ["captureRate"] = null, ["psiThreshold"] = null, ["schedule"] = null,
            ["decay"] = new() { ["metric"] = null, ["min"] = null, ["window"] = null, ["minLabelled"] = null },
        },
        ["canary"] = new() { ["percent"] = null },
        ["shadow"] = null,
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
            CheckFields(document.RootElement, Fields, string.Empty, errors);

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

            // A spec PUT without a window trains on everything accepted; stored specs without one keep "latest".
            return new SpecParseResult(errors.Count == 0 ? spec with { TrainOn = spec.TrainOn ?? TrainingWindow.All } : null, errors);
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

        CheckSchedule("retrainSchedule", spec.RetrainSchedule, errors);
        CheckValidation(spec.Validation, errors);
        if (task is not null)
        {
            CheckTrainers(spec.Trainers, task.Value, errors);
            CheckMonitoring(spec.Monitoring, task.Value, errors);
        }

        if (spec.Retention?.Days is < 1)
        {
            errors.Add("retention.days must be at least 1.");
        }

        if (spec.OnIncomparable is not null and not ("manual" or "reject" or "promote"))
        {
            errors.Add($"Unknown onIncomparable '{spec.OnIncomparable}': use manual, reject or promote.");
        }

        if (spec.Canary?.Percent is { } percent && percent is < 0 or > 100)
        {
            errors.Add($"canary.percent must be between 0 and 100, not {percent}.");
        }

        return errors;
    }

    private static void CheckSchedule(string field, string? expression, List<string> errors)
    {
        if (expression is not null &&
            CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true }) is null)
        {
            errors.Add($"{field} '{expression}' is not a 6-field NCRONTAB expression (second minute hour day month weekday), e.g. \"0 0 3 * * *\".");
        }
    }

    private static void CheckValidation(ValidationSpec? validation, List<string> errors)
    {
        if (validation is null)
        {
            return;
        }

        CheckFraction("validation.maxMissingFraction", validation.MaxMissingFraction, errors);
        CheckFraction("validation.maxNewCategoryFraction", validation.MaxNewCategoryFraction, errors);
        if (validation.MinRows is < 1)
        {
            errors.Add("validation.minRows must be at least 1.");
        }

        if (validation.MinRowsPerClass is < 1)
        {
            errors.Add("validation.minRowsPerClass must be at least 1.");
        }

        if (validation.MaxCategories is < 2)
        {
            errors.Add("validation.maxCategories must be at least 2.");
        }

        foreach (var (column, constraint) in validation.Columns ?? new Dictionary<string, ColumnConstraint>())
        {
            if (constraint is null)
            {
                errors.Add($"validation.columns.{column} must be an object such as {{\"min\": 0, \"max\": 100}}.");
                continue;
            }

            CheckFraction($"validation.columns.{column}.maxMissingFraction", constraint.MaxMissingFraction, errors);
            if (constraint.Min > constraint.Max)
            {
                errors.Add($"validation.columns.{column}: min {constraint.Min} is greater than max {constraint.Max}.");
            }
        }

        if (validation.Drift is { } drift)
        {
            if (drift.PsiWarning is <= 0 || drift.PsiError is <= 0)
            {
                errors.Add("validation.drift thresholds must be positive PSI values (0.1 is a common warning, 0.25 an error).");
            }
            else if (drift.PsiError < drift.PsiWarning)
            {
                errors.Add($"validation.drift.psiError {drift.PsiError} is below psiWarning {drift.PsiWarning}.");
            }
        }
    }

    private static void CheckTrainers(IReadOnlyList<string>? trainers, MlTask task, List<string> errors)
    {
        if (trainers is null)
        {
            return;
        }

        var known = Training.TrainerCatalog.Names(task);
        if (trainers.Count == 0)
        {
            errors.Add($"Field 'trainers' is empty: list some of {string.Join(", ", known)}, or leave it out to try them all.");
        }

        errors.AddRange(trainers.Where(t => !known.Contains(t, StringComparer.Ordinal))
            .Select(t => $"Unknown trainer '{t}' for task {task.ToName()}: use {string.Join(", ", known)}."));
        CheckNames("trainers", trainers, errors);
    }

    private static void CheckMonitoring(MonitoringSpec? monitoring, MlTask task, List<string> errors)
    {
        if (monitoring is null)
        {
            return;
        }

        CheckFraction("monitoring.captureRate", monitoring.CaptureRate, errors);
        if (monitoring.PsiThreshold is <= 0)
        {
            errors.Add("monitoring.psiThreshold must be a positive PSI value, e.g. 0.2.");
        }

        CheckSchedule("monitoring.schedule", monitoring.Schedule, errors);
        if (monitoring.Decay is not { } decay)
        {
            return;
        }

        if (decay.Metric is not null && MetricCatalog.Find(task, decay.Metric) is null)
        {
            errors.Add($"Unknown monitoring.decay.metric '{decay.Metric}' for task {task.ToName()}: use one of {string.Join(", ", MetricCatalog.For(task).Select(m => m.Name))}.");
        }

        if (decay.Min is null)
        {
            errors.Add("monitoring.decay.min is required: the live metric under which the model is retrained.");
        }

        if (decay.Window is < 10)
        {
            errors.Add("monitoring.decay.window must be at least 10 labelled predictions.");
        }

        if (decay.MinLabelled is < 1 || decay.MinLabelled > (decay.Window ?? int.MaxValue))
        {
            errors.Add("monitoring.decay.minLabelled must be at least 1 and at most the window.");
        }
    }

    private static void CheckFraction(string field, double? value, List<string> errors)
    {
        if (value is < 0 or > 1)
        {
            errors.Add($"{field} must be between 0 and 1, not {value}.");
        }
    }

    /// <summary>Reports every field the spec does not define, with its path, so a typo is never silently ignored.</summary>
    private static void CheckFields(JsonElement element, FieldTree fields, string path, List<string> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var property in element.EnumerateObject())
        {
            var known = fields.TryGetValue(property.Name, out var children) || fields.TryGetValue("*", out children);
            if (!known)
            {
                var where = path.Length == 0 ? "field" : $"field in '{path}'";
                errors.Add($"Unknown {where} '{property.Name}'; known fields are {string.Join(", ", fields.Keys)}.");
            }
            else if (children is not null)
            {
                CheckFields(property.Value, children, path.Length == 0 ? property.Name : $"{path}.{property.Name}", errors);
            }
        }
    }

    private sealed class FieldTree() : Dictionary<string, FieldTree?>(StringComparer.Ordinal);

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

        if (spec.Gates?.Confidence is { } confidence && confidence is < 0.5 or >= 1)
        {
            errors.Add($"gates.confidence must be at least 0.5 and below 1 (e.g. 0.95), not {confidence}.");
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
