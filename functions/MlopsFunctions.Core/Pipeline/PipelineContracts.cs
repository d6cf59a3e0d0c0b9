using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Pipeline;

// Durable payloads: small records of names, hashes and numbers, never data or models (DESIGN.md section 9).

/// <summary>Starts a pipeline run on one file.</summary>
public sealed record PipelineInput(string Model, string Source, string Trigger, string Actor, double ApprovalTimeoutHours);

/// <summary>How a run ended.</summary>
public sealed record PipelineResult(string Model, string Outcome, int? Version, string Reason, string? Metric = null, double? Value = null, string? Report = null);

/// <summary>Contract names of run outcomes.</summary>
public static class Outcomes
{
    public const string Promoted = "promoted";
    public const string DataRejected = "data-rejected";
    public const string GatesFailed = "gates-failed";
    public const string Declined = "declined";
}

/// <summary>The stage a run is in, published as its custom status.</summary>
public sealed record RunStatus(string Stage, int? Version = null);

public sealed record ValidateInput(string Model, string Source, string RunId);

public sealed record ValidationOutcome(
    bool Accepted,
    IReadOnlyList<string> Errors,
    string Report,
    string? Dataset = null,
    string? DatasetSha256 = null,
    DatasetSchema? Schema = null,
    ModelSpec? Spec = null,
    ValidationSummary? Summary = null);

public sealed record TrainInput(
    string Model, string RunId, string Trigger, string Source, string Dataset, string DatasetSha256,
    ModelSpec Spec, DatasetSchema Schema, ValidationSummary Validation);

public sealed record TrainOutcome(int Version, string ModelBlob, string ModelSha256, string Trainer, int TrainRows, int HoldoutRows);

public sealed record EvaluateInput(string Model, int Version);

public sealed record EvaluationOutcome(
    string Metric,
    double Value,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<GateDecision> Gates,
    bool Passed,
    int? Champion,
    IReadOnlyDictionary<string, double>? ChampionMetrics);

public sealed record RegisterInput(string Model, int Version, EvaluationOutcome Evaluation, bool ManualPromotion);

public sealed record SlotInput(string Model, int Version, string Actor, string Reason);

public sealed record StatusInput(string Model, int Version, string Status, string Reason);

/// <summary>The external event an operator's approve or reject sends to a waiting run.</summary>
public sealed record ApprovalDecision(bool Approved, string Actor, string? Reason);
