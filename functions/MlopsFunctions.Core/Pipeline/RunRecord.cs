using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>A pipeline run as operators see it: what started it, on which data, where it is, every candidate and how it ended.</summary>
public sealed record RunRecord
{
    public required string RunId { get; init; }

    public required string Model { get; init; }

    /// <summary>blob, schedule, manual, drift, decay.</summary>
    public required string Trigger { get; init; }

    public required string Actor { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>queued, running, completed, failed, superseded or skipped.</summary>
    public required string Status { get; init; }

    public IReadOnlyList<string> Sources { get; init; } = [];

    /// <summary>When the data was written (the blob's last modification); the newest data wins in the queue.</summary>
    public DateTimeOffset DataTime { get; init; }

    public string? SpecSha256 { get; init; }

    public string? Stage { get; init; }

    /// <summary>promoted, data-rejected, gates-failed, declined, failed or skipped.</summary>
    public string? Outcome { get; init; }

    public string? Reason { get; init; }

    public int? Version { get; init; }

    public string? InstanceId { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    public string? SupersededBy { get; init; }

    /// <summary>Validation reports of the run's files.</summary>
    public IReadOnlyList<string>? Reports { get; init; }

    public IReadOnlyList<DatasetUse>? Datasets { get; init; }

    public string? Window { get; init; }

    public int CandidatesTotal { get; init; }

    public int CandidatesDone { get; init; }

    public IReadOnlyList<CandidateResult>? Candidates { get; init; }

    public string? Chosen { get; init; }

    public string? Metric { get; init; }

    public double? Value { get; init; }

    public int? Seed { get; init; }

    public string? AppVersion { get; init; }

    public string? MlNetVersion { get; init; }

    /// <summary>Seconds each activity took (stage name to seconds), candidates aside: where a run's time went.</summary>
    public IReadOnlyDictionary<string, double>? Timings { get; init; }

    public bool IsFinished => Status is RunStatuses.Completed or RunStatuses.Failed or RunStatuses.Superseded or RunStatuses.Skipped;
}

/// <summary>One trained candidate of a run: trainer and parameters, validation metrics, sizes and durations, or why it failed.</summary>
public sealed record CandidateResult(
    string Name,
    string Trainer,
    IReadOnlyDictionary<string, double> Parameters,
    IReadOnlyDictionary<string, double>? ValidationMetrics,
    double? Value,
    long TrainRows,
    long ValidationRows,
    double FitSeconds,
    double Seconds,
    string? Error)
{
    /// <summary>When the candidate's activity began, and when its fit began: the training stage's timeline.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FitStartedAt { get; init; }
}

/// <summary>Contract names of a run's status.</summary>
public static class RunStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Superseded = "superseded";
    public const string Skipped = "skipped";
}
