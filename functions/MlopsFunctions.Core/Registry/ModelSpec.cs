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

    /// <summary>The task as an enum; only call on a validated spec.</summary>
    [JsonIgnore]
    public MlTask TaskType => MlTaskNames.Parse(Task!) ?? throw new InvalidOperationException("Spec was not validated.");

    [JsonIgnore]
    public bool ManualPromotion => string.Equals(Promotion, "manual", StringComparison.Ordinal);
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
