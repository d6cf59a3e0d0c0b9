using System.Security.Cryptography;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Submits runs from every trigger (new files, schedules, retrain requests, monitoring) through one path: it drops
/// duplicates, records the run, and passes it through the model's single-flight queue, starting it at once when the
/// model is idle.
/// </summary>
public sealed partial class PipelineStarter(
    BlobStore blobs, ModelRegistry registry, RunStore runs, SingleFlight queue, IOptions<MlopsOptions> options, TimeProvider time,
    ILogger<PipelineStarter> logger)
{
    /// <summary>How long an active run may go without a durable instance before another trigger takes its place.</summary>
    private static readonly TimeSpan StartGrace = TimeSpan.FromSeconds(60);

    /// <summary>Starts the run of a file dropped at incoming/{model}/{name}; the same content under the same spec twice is one run.</summary>
    public async Task<StartResult> StartFromBlobAsync(DurableTaskClient client, string model, string name, Stream content, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(content, ct).ConfigureAwait(false));
        var source = $"{BlobPath.Incoming}/{model}/{name}";
        if (!ModelName.IsValid(model))
        {
            // The name is never used as a path: the report goes under a fixed folder, named by a hash of the blob name.
            var nameHash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(source)))[..16];
            var report = new BlobPath(BlobPath.Rejected, $"_invalid-model-name/{nameHash}.report.json");
            await blobs.UploadJsonAsync(report, new
            {
                source,
                accepted = false,
                errors = new[] { $"'{model}' is not a valid model name ({ModelName.Rule}): move the file to incoming/<model>/." },
                sha256 = sha,
            }, ct).ConfigureAwait(false);
            LogInvalidName(logger, source);
            return new StartResult(null, false, $"invalid model name; report at {report}");
        }

        var spec = await registry.GetSpecAsync(model, ct).ConfigureAwait(false);
        var specSha = spec is null ? new string('0', 64) : PrepareTrainingActivity.SpecSha256(spec);
        var written = (await blobs.TryGetPropertiesAsync(BlobPath.Parse(source), ct).ConfigureAwait(false))?.LastModified ?? time.GetUtcNow();
        var request = new RunRequest(RunIds.ForData(model, sha, specSha), model, "blob", "blob-trigger", [source], written, options.Value.ApprovalTimeoutHours);
        return await SubmitAsync(client, request, rerunFailed: true, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A retrain on the model's accepted data (its window), or an explicit re-run of one file: a rejected file's copy,
    /// an incoming file or an accepted dataset. Returns the problem a caller can act on when it cannot start.
    /// </summary>
    public async Task<(StartResult? Result, ApiProblem? Problem)> StartRetrainAsync(
        DurableTaskClient client, string model, string trigger, string runId, string actor, string? source = null, bool force = true,
        int? replay = null, CancellationToken ct = default)
    {
        if (await registry.GetSpecAsync(model, ct).ConfigureAwait(false) is null)
        {
            return (null, ApiProblem.NotFound("model-not-found", $"Model '{model}' has no spec: define it with PUT /api/models/{model}."));
        }

        if (replay is { } version && await registry.GetVersionAsync(model, version, ct).ConfigureAwait(false) is null)
        {
            return (null, ApiProblem.NotFound("version-not-found", $"Model '{model}' has no version {version} to replay."));
        }

        if (source is not null)
        {
            var path = BlobPath.TryParse(source);
            if (path is not { } p || p.Container is not (BlobPath.Incoming or BlobPath.Rejected or BlobPath.Datasets) ||
                !p.Name.StartsWith(model + "/", StringComparison.Ordinal) || p.Name.EndsWith(".json", StringComparison.Ordinal))
            {
                return (null, ApiProblem.BadRequest("invalid-source",
                    $"'{source}' is not a file of '{model}': use incoming/{model}/<file>, rejected/{model}/<file> or datasets/{model}/<sha256>.csv."));
            }

            if (await blobs.TryGetPropertiesAsync(p, ct).ConfigureAwait(false) is null)
            {
                return (null, ApiProblem.NotFound("source-not-found", $"There is no file {source}."));
            }
        }
        else if (replay is null && (await registry.ListDatasetsAsync(model, ct).ConfigureAwait(false)).Count == 0)
        {
            return (null, ApiProblem.Conflict("no-data", $"Model '{model}' has no accepted data yet: upload a CSV to incoming/{model}/, or retrain a rejected file with {{\"source\": \"rejected/{model}/<file>\"}}."));
        }

        var request = new RunRequest(runId, model, trigger, actor, source is null ? [] : [source], time.GetUtcNow(), options.Value.ApprovalTimeoutHours)
        {
            Force = force,
            ReplayOf = replay,
        };
        return (await SubmitAsync(client, request, rerunFailed: false, ct).ConfigureAwait(false), null);
    }

    /// <summary>Records a run that will not run (e.g. a schedule with nothing new), so every decision shows in the model's runs.</summary>
    public async Task RecordSkippedAsync(RunRequest request, string reason, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        await runs.TryCreateAsync(NewRecord(request) with
        {
            Status = RunStatuses.Skipped, Stage = Stages.Done, Outcome = Outcomes.Skipped, Reason = reason, EndedAt = now,
        }, ct).ConfigureAwait(false);
        LogSkipped(logger, request.Model, request.RunId, reason);
    }

    private async Task<StartResult> SubmitAsync(DurableTaskClient client, RunRequest request, bool rerunFailed, CancellationToken ct)
    {
        var existing = await runs.GetAsync(request.Model, request.RunId, ct).ConfigureAwait(false);
        if (existing is not null)
        {
            if (existing.Status == RunStatuses.Queued && await ResumeAsync(client, existing, request, ct).ConfigureAwait(false))
            {
                return new StartResult(request.RunId, true, "started (recovered a run that never started)");
            }

            if (!rerunFailed || !(existing.Status is RunStatuses.Failed or RunStatuses.Superseded || existing.Outcome == Outcomes.DataRejected))
            {
                LogDuplicate(logger, request.RunId, request.Sources);
                return new StartResult(request.RunId, false, $"a run for this content and spec already exists ({existing.Status})");
            }

            request = request with { RunId = await NextAttemptAsync(request, ct).ConfigureAwait(false) };
        }

        if (!await runs.TryCreateAsync(NewRecord(request), ct).ConfigureAwait(false))
        {
            return new StartResult(request.RunId, false, "a run with this id already exists");
        }

        var (start, loser, kept) = await queue.EnqueueAsync(request, state => IsStaleAsync(client, state, ct), ct).ConfigureAwait(false);
        if (loser is not null)
        {
            await runs.UpdateAsync(loser.Model, loser.RunId, r => r with
            {
                Status = RunStatuses.Superseded,
                Stage = Stages.Done,
                SupersededBy = kept!.RunId,
                Reason = $"newer data arrived while another run was active; run {kept.RunId} validates this file and trains instead",
                EndedAt = time.GetUtcNow(),
            }, ct).ConfigureAwait(false);
            LogSuperseded(logger, loser.RunId, kept!.RunId);
        }

        if (!start)
        {
            LogQueued(logger, request.RunId, request.Model);
            return new StartResult(request.RunId, false, loser?.RunId == request.RunId ? $"superseded by {kept!.RunId}" : "queued behind the active run");
        }

        await ScheduleAsync(client, request, ct).ConfigureAwait(false);
        return new StartResult(request.RunId, true, "started");
    }

    private async Task ScheduleAsync(DurableTaskClient client, RunRequest request, CancellationToken ct)
    {
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(nameof(TrainingPipeline), request, new StartOrchestrationOptions(request.RunId), ct).ConfigureAwait(false);
            LogStarted(logger, request.RunId, request.Model, request.Sources, request.Trigger);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await queue.ReleaseAsync(request.Model, request.RunId, CancellationToken.None).ConfigureAwait(false);
            await runs.UpdateAsync(request.Model, request.RunId, r => r with
            {
                Status = RunStatuses.Failed, Outcome = Outcomes.Failed, Reason = $"the run could not be started: {ex.Message}", EndedAt = time.GetUtcNow(),
            }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A queued run that holds the active place but has no instance (its starter died): start it now.</summary>
    private async Task<bool> ResumeAsync(DurableTaskClient client, RunRecord existing, RunRequest request, CancellationToken ct)
    {
        var state = await queue.GetAsync(existing.Model, ct).ConfigureAwait(false);
        if (state.Active != existing.RunId || await client.GetInstanceAsync(existing.RunId, ct).ConfigureAwait(false) is not null)
        {
            return false;
        }

        await ScheduleAsync(client, request with { RunId = existing.RunId }, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>True when the active run is over or its instance is gone (never started, or terminated by hand).</summary>
    private async Task<bool> IsStaleAsync(DurableTaskClient client, QueueState state, CancellationToken ct)
    {
        var model = RunIds.ModelOf(state.Active!);
        if (model is not null && await runs.GetAsync(model, state.Active!, ct).ConfigureAwait(false) is { IsFinished: true })
        {
            return true;
        }

        var instance = await client.GetInstanceAsync(state.ActiveInstance ?? state.Active!, ct).ConfigureAwait(false);
        return instance is null
            ? time.GetUtcNow() - (state.ActiveSince ?? DateTimeOffset.MinValue) > StartGrace
            : instance.RuntimeStatus is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated;
    }

    private async Task<string> NextAttemptAsync(RunRequest request, CancellationToken ct)
    {
        for (var attempt = 2; ; attempt++)
        {
            var id = RunIds.Attempt(request.RunId, attempt);
            if (await runs.GetAsync(request.Model, id, ct).ConfigureAwait(false) is not { } run || run.Status == RunStatuses.Queued)
            {
                return id;
            }

            if (!(run.Status is RunStatuses.Failed or RunStatuses.Superseded || run.Outcome == Outcomes.DataRejected))
            {
                return id; // the create below finds it and reports the duplicate
            }
        }
    }

    public static RunRecord NewRecord(RunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new RunRecord
        {
            RunId = request.RunId,
            Model = request.Model,
            Trigger = request.Trigger,
            Actor = request.Actor,
            CreatedAt = DateTimeOffset.UtcNow,
            Status = RunStatuses.Queued,
            Stage = Stages.Queued,
            Sources = request.Sources,
            DataTime = request.DataTime,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started run {RunId} for {Model} on {Sources} ({Trigger})")]
    private static partial void LogStarted(ILogger logger, string runId, string model, IReadOnlyList<string> sources, string trigger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} queued: {Model} has an active run")]
    private static partial void LogQueued(ILogger logger, string runId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} superseded by {Winner}")]
    private static partial void LogSuperseded(ILogger logger, string runId, string winner);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} already exists; {Sources} is not run again")]
    private static partial void LogDuplicate(ILogger logger, string runId, IReadOnlyList<string> sources);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} of {Model} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string model, string runId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored {Source}: its folder is not a valid model name")]
    private static partial void LogInvalidName(ILogger logger, string source);
}

/// <summary>Whether a run was started, its id, and why not when it was not.</summary>
public sealed record StartResult(string? InstanceId, bool Started, string Message);
