namespace MlopsFunctions.Core.Pipeline;

/// <summary>Pipeline runs as the HTTP API shows them, read from the runs table (no durable task hub needed, so any role can serve them).</summary>
public static class RunQueries
{
    public static async Task<RunView?> GetAsync(RunStore runs, string runId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return await runs.GetAsync(runId, ct).ConfigureAwait(false) is { } run ? RunView.From(run) : null;
    }

    /// <summary>A model's runs, newest first.</summary>
    public static async Task<IReadOnlyList<RunView>> ListAsync(RunStore runs, string model, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return (await runs.ListAsync(model, ct: ct).ConfigureAwait(false)).Select(RunView.From).ToList();
    }
}

/// <summary>
/// A pipeline run: its status (and the durable runtime status it maps to), stage and progress, input, result, and
/// what it trained: datasets, every candidate, the chosen one, seed and versions.
/// </summary>
public sealed record RunView(
    string InstanceId,
    string RunId,
    string Model,
    string Status,
    string RuntimeStatus,
    string? Stage,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    RunInputView Input,
    PipelineResult? Result,
    string? Error,
    string? SupersededBy,
    RunProgress Progress,
    RunRecord Details)
{
    public static RunView From(RunRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var runtime = run.Status switch
        {
            RunStatuses.Queued => "Pending",
            RunStatuses.Running => "Running",
            RunStatuses.Failed => "Failed",
            _ => "Completed",
        };
        var result = run.Outcome is { } outcome
            ? new PipelineResult(run.Model, outcome, run.Version, run.Reason ?? string.Empty, run.Metric, run.Value, run.Reports is { Count: > 0 } reports ? reports[^1] : null)
            : null;
        return new RunView(
            run.InstanceId ?? run.RunId,
            run.RunId,
            run.Model,
            run.Status,
            runtime,
            run.Stage,
            run.CreatedAt,
            run.UpdatedAt ?? run.CreatedAt,
            run.StartedAt,
            run.EndedAt,
            new RunInputView(run.Model, run.Sources.Count > 0 ? run.Sources[^1] : null, run.Sources, run.Trigger, run.Actor),
            result,
            run.Status == RunStatuses.Failed ? run.Reason : null,
            run.SupersededBy,
            new RunProgress(run.CandidatesDone, run.CandidatesTotal),
            run);
    }
}

/// <summary>What started a run: its newest file (and all of them), the trigger and the actor.</summary>
public sealed record RunInputView(string Model, string? Source, IReadOnlyList<string> Sources, string Trigger, string Actor);

/// <summary>Candidates trained so far, out of how many.</summary>
public sealed record RunProgress(int CandidatesDone, int CandidatesTotal);
