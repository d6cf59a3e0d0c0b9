using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;

namespace MlopsFunctions.Core.Registry;

/// <summary>One trained version of a model: what it was trained on, how it scored, and what the gates decided.</summary>
public sealed record ModelVersion
{
    public required int Version { get; init; }

    public required string Status { get; init; }

    public string? StatusReason { get; init; }

    public required string RunId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    public string? ModelBlob { get; init; }

    public string? ModelSha256 { get; init; }

    public string? Trainer { get; init; }

    public int TrainRows { get; init; }

    public int HoldoutRows { get; init; }

    public string? Metric { get; init; }

    public double? MetricValue { get; init; }

    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    public IReadOnlyList<GateDecision>? Gates { get; init; }

    /// <summary>Production version it was compared with, if any.</summary>
    public int? Champion { get; init; }

    public IReadOnlyDictionary<string, double>? ChampionMetrics { get; init; }

    public DatasetSchema? Schema { get; init; }

    public required Lineage Lineage { get; init; }

    public ValidationSummary? Validation { get; init; }
}

/// <summary>Where a version came from: its data, the run, the spec and settings it was trained with.</summary>
public sealed record Lineage(
    string Source,
    string Dataset,
    string DatasetSha256,
    string Trigger,
    ModelSpec Spec,
    int Seed,
    double HoldoutFraction);

/// <summary>The short form of a validation report kept on a version; the full report is a blob beside the model.</summary>
public sealed record ValidationSummary(int Rows, int UsableRows, IReadOnlyList<string> Warnings, string Report);

/// <summary>Contract status names of a version.</summary>
public static class VersionStatus
{
    public const string Training = "training";
    public const string Failed = "failed";
    public const string Rejected = "rejected";
    public const string Passed = "passed";
    public const string AwaitingApproval = "awaiting-approval";
    public const string Approved = "approved";
    public const string Declined = "declined";
}
