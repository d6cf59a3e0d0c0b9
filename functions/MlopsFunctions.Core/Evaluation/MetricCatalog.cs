using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>The ML.NET metrics a spec may name as primary, per task, with the direction that counts as better.</summary>
public static class MetricCatalog
{
    private static readonly Dictionary<MlTask, MetricInfo[]> Metrics = new()
    {
        [MlTask.Regression] =
        [
            new("RSquared", true), new("MeanAbsoluteError", false), new("MeanSquaredError", false),
            new("RootMeanSquaredError", false),
        ],
        [MlTask.Binary] =
        [
            new("AreaUnderRocCurve", true), new("Accuracy", true), new("F1Score", true),
            new("AreaUnderPrecisionRecallCurve", true), new("PositivePrecision", true), new("PositiveRecall", true),
            new("LogLoss", false),
        ],
        [MlTask.Multiclass] =
        [
            new("MacroAccuracy", true), new("MicroAccuracy", true), new("LogLoss", false), new("LogLossReduction", true),
        ],
    };

    public static IReadOnlyList<MetricInfo> For(MlTask task) => Metrics[task];

    public static MetricInfo? Find(MlTask task, string name) =>
        Metrics[task].FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.Ordinal));

    public static string DefaultFor(MlTask task) => task switch
    {
        MlTask.Regression => "RSquared",
        MlTask.Binary => "AreaUnderRocCurve",
        _ => "MacroAccuracy",
    };

    /// <summary>The spec's primary metric, or the task default.</summary>
    public static MetricInfo Primary(ModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Find(spec.TaskType, spec.Metric ?? DefaultFor(spec.TaskType))
            ?? throw new InvalidOperationException("Spec was not validated.");
    }
}

/// <summary>A metric name and whether a higher value is better.</summary>
public sealed record MetricInfo(string Name, bool HigherIsBetter);
