using System.Text.Json.Serialization;

namespace MlopsFunctions.Core.Registry;

/// <summary>A model definition as users write it (DESIGN.md section 5); field names are a public contract.</summary>
public sealed record ModelSpec
{
    public string? Task { get; init; }

    public string? Label { get; init; }

    public IReadOnlyList<string>? Features { get; init; }

    public IReadOnlyList<string>? Ignore { get; init; }

    public IReadOnlyList<string>? Categorical { get; init; }

    public string? Metric { get; init; }

    public GateSpec? Gates { get; init; }

    public string? Promotion { get; init; }

    public string? RetrainSchedule { get; init; }

    /// <summary>Data constraints beyond the defaults (rows, missing values, ranges, classes, new categories, drift).</summary>
    public ValidationSpec? Validation { get; init; }

    /// <summary>Restricts the candidate trainers (names from <c>TrainerCatalog</c>); all of the task's by default.</summary>
    public IReadOnlyList<string>? Trainers { get; init; }

    /// <summary>The training window. Stored specs without it predate windows and train on the latest file.</summary>
    public TrainingWindow? TrainOn { get; init; }

    /// <summary>How long accepted datasets are kept, unless a kept version names them.</summary>
    public RetentionSpec? Retention { get; init; }

    /// <summary>What a run does when the production model cannot be scored on the candidate's rows: manual (default), reject or promote.</summary>
    public string? OnIncomparable { get; init; }

    /// <summary>Request capture, drift and decay monitoring of the served model.</summary>
    public MonitoringSpec? Monitoring { get; init; }

    /// <summary>Share of production traffic the staged version answers.</summary>
    public CanarySpec? Canary { get; init; }

    /// <summary>The staged version scores a copy of production traffic in the background.</summary>
    public bool? Shadow { get; init; }

    /// <summary>The task as an enum; only call on a validated spec.</summary>
    [JsonIgnore]
    public MlTask TaskType => MlTaskNames.Parse(Task!) ?? throw new InvalidOperationException("Spec was not validated.");

    [JsonIgnore]
    public bool ManualPromotion => string.Equals(Promotion, "manual", StringComparison.Ordinal);

    /// <summary>The window a run trains on: the spec's, or "latest" for specs stored before windows existed.</summary>
    [JsonIgnore]
    public TrainingWindow Window => TrainOn ?? TrainingWindow.Latest;
}

/// <summary>Promotion gates of a spec; absent values mean "no threshold".</summary>
public sealed record GateSpec
{
    /// <summary>Lowest acceptable primary metric, for metrics where higher is better.</summary>
    public double? MinMetric { get; init; }

    /// <summary>Highest acceptable primary metric, for metrics where lower is better (errors, log loss).</summary>
    public double? MaxMetric { get; init; }

    /// <summary>How much the candidate must beat the production model on the same holdout rows, in the metric's good direction.</summary>
    public double? MinImprovement { get; init; }

    /// <summary>When set (e.g. 0.95), the improvement gate uses the lower bound of this confidence interval of the paired difference.</summary>
    public double? Confidence { get; init; }
}

/// <summary>Optional data constraints of a spec (DESIGN.md section 5); sensible defaults apply without it.</summary>
public sealed record ValidationSpec
{
    /// <summary>Labelled rows a file needs (default: the Mlops__MinRows setting).</summary>
    public int? MinRows { get; init; }

    /// <summary>Largest share of missing cells over all feature columns.</summary>
    public double? MaxMissingFraction { get; init; }

    /// <summary>Classification: rows each class needs.</summary>
    public int? MinRowsPerClass { get; init; }

    /// <summary>Largest share of a categorical column's rows whose value the reference schema never saw, before it is an error.</summary>
    public double? MaxNewCategoryFraction { get; init; }

    /// <summary>Largest number of distinct values of a categorical column (default: the Mlops__MaxCategories setting).</summary>
    public int? MaxCategories { get; init; }

    /// <summary>Classification: a label class the production model never saw is a warning instead of an error.</summary>
    public bool? AllowNewClasses { get; init; }

    /// <summary>Per-column constraints, by CSV column name.</summary>
    public IReadOnlyDictionary<string, ColumnConstraint>? Columns { get; init; }

    /// <summary>Population stability index thresholds against the production version's training profile.</summary>
    public DriftSpec? Drift { get; init; }
}

/// <summary>Constraints on one column.</summary>
public sealed record ColumnConstraint
{
    public double? Min { get; init; }

    public double? Max { get; init; }

    public double? MaxMissingFraction { get; init; }
}

/// <summary>PSI thresholds: over psiWarning is reported, over psiError rejects the file (off unless set).</summary>
public sealed record DriftSpec
{
    public double? PsiWarning { get; init; }

    public double? PsiError { get; init; }
}

/// <summary>Retention of accepted datasets.</summary>
public sealed record RetentionSpec
{
    public int? Days { get; init; }
}

/// <summary>Monitoring of the production model: capture sampling, drift and decay thresholds, and the monitor's schedule.</summary>
public sealed record MonitoringSpec
{
    /// <summary>Share of predictions captured, 0 to 1 (default 1).</summary>
    public double? CaptureRate { get; init; }

    /// <summary>PSI over which served inputs count as drifted (default 0.2).</summary>
    public double? PsiThreshold { get; init; }

    public DecaySpec? Decay { get; init; }

    /// <summary>NCRONTAB schedule of the drift check (default every 15 minutes).</summary>
    public string? Schedule { get; init; }
}

/// <summary>When the live metric over labelled feedback falls under <see cref="Min"/> (or over, for lower-is-better metrics), retrain.</summary>
public sealed record DecaySpec
{
    public string? Metric { get; init; }

    public double? Min { get; init; }

    /// <summary>Newest labelled predictions the live metric is computed over.</summary>
    public int? Window { get; init; }

    /// <summary>Labelled predictions needed before decay is judged.</summary>
    public int? MinLabelled { get; init; }
}

/// <summary>Canary release: the staged version answers this share of production requests.</summary>
public sealed record CanarySpec
{
    public double? Percent { get; init; }
}

/// <summary>The three supported learning tasks.</summary>
public enum MlTask
{
    Regression,
    Binary,
    Multiclass,
}

/// <summary>Contract spellings of <see cref="MlTask"/>.</summary>
public static class MlTaskNames
{
    public static MlTask? Parse(string value) => value switch
    {
        "regression" => MlTask.Regression,
        "binary" => MlTask.Binary,
        "multiclass" => MlTask.Multiclass,
        _ => null,
    };

    public static string ToName(this MlTask task) => task switch
    {
        MlTask.Regression => "regression",
        MlTask.Binary => "binary",
        _ => "multiclass",
    };
}
