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

    /// <summary>The durable instance running the run (runs queued behind another continue in its instance).</summary>
    public string? InstanceId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    public string? ModelBlob { get; init; }

    public string? ModelSha256 { get; init; }

    /// <summary>The chosen candidate's trainer name (e.g. LightGbm-leaves31).</summary>
    public string? Trainer { get; init; }

    public IReadOnlyDictionary<string, double>? TrainerParameters { get; init; }

    public long TrainRows { get; init; }

    public long ValidationRows { get; init; }

    public long HoldoutRows { get; init; }

    public string? Metric { get; init; }

    public double? MetricValue { get; init; }

    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    public IReadOnlyList<GateDecision>? Gates { get; init; }

    /// <summary>Production version it was compared with, if any.</summary>
    public int? Champion { get; init; }

    public IReadOnlyDictionary<string, double>? ChampionMetrics { get; init; }

    /// <summary>Inline schema of first-release versions; later versions keep it in <see cref="SchemaBlob"/>.</summary>
    public DatasetSchema? Schema { get; init; }

    public string? SchemaBlob { get; init; }

    public string? SchemaSha256 { get; init; }

    /// <summary>The profile of the data the version trained on: the drift baseline of its data and served inputs.</summary>
    public string? ProfileBlob { get; init; }

    public string? ProfileSha256 { get; init; }

    public string? EvaluationBlob { get; init; }

    public required Lineage Lineage { get; init; }

    public ValidationSummary? Validation { get; init; }
}

/// <summary>Where a version came from: its data (every dataset with its rows), the run, the spec and settings it was trained with.</summary>
public sealed record Lineage(
    string Source,
    string Dataset,
    string DatasetSha256,
    string Trigger,
    ModelSpec Spec,
    int Seed,
    double HoldoutFraction)
{
    public double ValidationFraction { get; init; }

    /// <summary>Every dataset the version trained on, with the rows each contributed (after de-duplication).</summary>
    public IReadOnlyList<DatasetUse>? Datasets { get; init; }

    public string? SpecSha256 { get; init; }

    public string? Window { get; init; }

    public string? AppVersion { get; init; }

    public string? MlNetVersion { get; init; }
}

/// <summary>One dataset of a version's training data and the rows it contributed.</summary>
public sealed record DatasetUse(string Dataset, string Sha256, long Rows);

/// <summary>The short form of a validation report kept on a version; the full report is a blob.</summary>
public sealed record ValidationSummary(long Rows, long UsableRows, IReadOnlyList<string> Warnings, string Report);

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

    /// <summary>Statuses a version only passes through; a run that ends leaves none of its versions in them.</summary>
    public static bool IsTransient(string status) => status is Training or Passed or AwaitingApproval or Approved;
}

/// <summary>An accepted dataset of a model: where it is, when it was accepted, and its documents.</summary>
public sealed record DatasetRecord(
    string Dataset,
    string Sha256,
    string Source,
    DateTimeOffset AcceptedAt,
    long Rows,
    long UsableRows,
    long Bytes,
    string Report,
    string Profile,
    string Schema,
    string RunId);
