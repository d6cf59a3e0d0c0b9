using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Pipeline;

// Durable payloads: small records of names, hashes and numbers, never data or models (DESIGN.md section 9).

/// <summary>
/// One requested run: which model, what started it, which files to validate first (none for a retrain on the
/// model's accepted data), and when its data was written, so the newest data wins a place in the queue.
/// </summary>
public sealed record RunRequest(
    string RunId,
    string Model,
    string Trigger,
    string Actor,
    IReadOnlyList<string> Sources,
    DateTimeOffset DataTime,
    double ApprovalTimeoutHours)
{
    /// <summary>Set for runs that must train even if nothing changed (an explicit retrain); schedules leave it false.</summary>
    public bool Force { get; init; }

    /// <summary>A version to reproduce: the run trains exactly its datasets with its spec, seed and split.</summary>
    public int? ReplayOf { get; init; }
}

/// <summary>How a run ended.</summary>
public sealed record PipelineResult(string Model, string Outcome, int? Version, string Reason, string? Metric = null, double? Value = null, string? Report = null);

/// <summary>Contract names of run outcomes.</summary>
public static class Outcomes
{
    public const string Promoted = "promoted";
    public const string DataRejected = "data-rejected";
    public const string GatesFailed = "gates-failed";
    public const string Declined = "declined";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
}

/// <summary>Contract names of run stages (the custom status and the run record's stage).</summary>
public static class Stages
{
    public const string Queued = "queued";
    public const string Validating = "validating";
    public const string Preparing = "preparing";
    public const string Training = "training";
    public const string Evaluating = "evaluating";
    public const string Registering = "registering";
    public const string Staging = "staging";
    public const string AwaitingApproval = "awaiting-approval";
    public const string Promoting = "promoting";
    public const string Done = "done";
}

/// <summary>The stage a run is in, published as its custom status; while training, how many candidates are done.</summary>
public sealed record RunStatus(string Stage, int? Version = null, string? RunId = null, int? CandidatesDone = null, int? CandidatesTotal = null);

public sealed record StartRunInput(RunRequest Request, string InstanceId);

public sealed record ValidateInput(string Model, string Source, string RunId);

/// <summary>An accepted dataset, as a run carries it.</summary>
public sealed record DatasetRef(string Dataset, string Sha256, long UsableRows, string Schema, string Profile, string Report);

public sealed record ValidationOutcome(bool Accepted, IReadOnlyList<string> Errors, string Report, DatasetRef? Dataset = null, IReadOnlyList<string>? Warnings = null);

public sealed record PrepareInput(RunRequest Request, IReadOnlyList<DatasetRef> Accepted, string InstanceId);

/// <summary>
/// What a run trains: the version number it holds, the datasets of its window (with their hashes), the schema
/// and split settings, and the candidates. Null <see cref="Version"/> means nothing to train (see Skipped).
/// </summary>
public sealed record TrainingPlan(
    string Model,
    string RunId,
    int? Version,
    IReadOnlyList<DatasetRef> Datasets,
    string? SchemaBlob,
    ModelSpec Spec,
    int Seed,
    double HoldoutFraction,
    double ValidationFraction,
    long TrainRowsHint,
    IReadOnlyList<Candidate> Candidates,
    string? Skipped = null)
{
    public RowSplit Split => new(HoldoutFraction, ValidationFraction, Seed);
}

public sealed record CandidateInput(TrainingPlan Plan, Candidate Candidate);

/// <summary>A trained candidate (its blob, hash and fitted schema) and its validation score, or why it failed.</summary>
public sealed record CandidateOutcome(
    CandidateResult Result,
    string? ModelBlob,
    string? ModelSha256,
    string? SchemaBlob)
{
    public bool Succeeded => Result.Error is null && ModelBlob is not null;
}

public sealed record EvaluateInput(TrainingPlan Plan, CandidateOutcome Chosen);

/// <summary>The verdict: passed (stage it), failed (keep it out) or undecided (the champion could not be compared).</summary>
public sealed record EvaluationOutcome(
    string Metric,
    double Value,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<GateDecision> Gates,
    string Decision,
    int? Champion,
    IReadOnlyDictionary<string, double>? ChampionMetrics,
    int HoldoutRows)
{
    public const string Pass = "pass";
    public const string Fail = "fail";
    public const string Undecided = "undecided";

    public bool Passed => Decision == Pass;
}

public sealed record RegisterInput(TrainingPlan Plan, CandidateOutcome Chosen, IReadOnlyList<CandidateOutcome> Candidates, EvaluationOutcome Evaluation, string Status, string Reason);

public sealed record SlotInput(string Model, int Version, string Actor, string Reason, string? RunId = null, string? Stage = null)
{
    /// <summary>The status a declined version gets: declined (default) or failed.</summary>
    public string? Status { get; init; }
}

/// <summary>Promote a version, but only while production is still the champion it was compared with.</summary>
public sealed record PromoteInput(string Model, int Version, string Actor, string Reason, int? ExpectedProduction, string? RunId = null);

/// <summary>What promotion did: swapped, found production changed since the evaluation, or the staged model failed its smoke test.</summary>
public sealed record PromoteOutcome(bool Promoted, int? Production, string Reason)
{
    public bool SmokeFailed { get; init; }
}

public sealed record StatusInput(string Model, int Version, string Status, string Reason);

public sealed record FinishInput(string Model, string RunId, string InstanceId, PipelineResult Result);

/// <summary>The external event an operator's approve or reject sends to a waiting run.</summary>
public sealed record ApprovalDecision(bool Approved, string Actor, string? Reason);
