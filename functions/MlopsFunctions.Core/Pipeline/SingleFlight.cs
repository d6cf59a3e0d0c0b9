using Azure;
using Azure.Data.Tables;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Single flight per model: at most one active run and at most one pending one, kept in the model's registry
/// partition as one row changed only under its ETag.
/// </summary>
/// <remarks>
/// Why not a Durable entity or a singleton orchestration: LocalHost's sidecar (InProcessTestHost 0.2.3-preview)
/// dispatches no entity work items, and it starts instances without de-duplication, so two triggers racing to start a
/// per-model singleton could restart a running one. The registry partition already holds all of a model's state and
/// gives compare-and-swap; the durable task hub still runs each run crash-safely. A run queued behind another is
/// started by the active run itself when it ends (continue-as-new in the same durable instance), so no trigger and
/// no client are needed for the hand-off.
/// </remarks>
public sealed class SingleFlight(TableServiceClient service)
{
    private const string QueueRow = "queue";
    private readonly TableClient table = service.GetTableClient(ModelRegistry.TableName);

    public async Task<QueueState> GetAsync(string model, CancellationToken ct = default) =>
        (await ReadAsync(model, ct).ConfigureAwait(false)).State;

    /// <summary>
    /// Makes the request the active run when the model has none (or only a dead one, as <paramref name="isStale"/>
    /// decides); otherwise keeps the newer of it and the pending request. Returns whether to start it now and the
    /// request that lost its place, if any, and the one that kept it. The kept request inherits the loser's files, so
    /// the data of a superseded run is still validated and joins the model's accepted data.
    /// </summary>
    public async Task<(bool Start, RunRequest? Superseded, RunRequest? Kept)> EnqueueAsync(
        RunRequest request, Func<QueueState, Task<bool>> isStale, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(isStale);
        for (var attempt = 0; ; attempt++)
        {
            var (state, etag) = await ReadAsync(request.Model, ct).ConfigureAwait(false);
            if (state.Active == request.RunId)
            {
                return (true, null, request);
            }

            if (state.Pending?.RunId == request.RunId)
            {
                return (false, null, state.Pending);
            }

            bool start;
            RunRequest? loser = null;
            RunRequest kept = request;
            QueueState next;
            if (state.Active is null || await isStale(state).ConfigureAwait(false))
            {
                start = true;
                next = state with { Active = request.RunId, ActiveInstance = request.RunId, ActiveSince = DateTimeOffset.UtcNow };
            }
            else
            {
                start = false;
                var keep = state.Pending is { } pending && pending.DataTime > request.DataTime ? pending : request;
                loser = keep == request ? state.Pending : request;
                kept = loser is null ? keep : keep with { Sources = [.. loser.Sources.Concat(keep.Sources).Distinct(StringComparer.Ordinal)] };
                next = state with { Pending = kept };
            }

            if (await TryWriteAsync(request.Model, next, etag, ct).ConfigureAwait(false))
            {
                return (start, loser, kept);
            }

            if (attempt > 50)
            {
                throw new RequestFailedException(409, $"The run queue of '{request.Model}' kept changing; try again.");
            }
        }
    }

    /// <summary>
    /// Ends the active run: the pending request, if any, becomes active in the same durable instance and is returned
    /// for the caller to continue with. Returns null when nothing waits (or the run is no longer the active one).
    /// </summary>
    public async Task<RunRequest?> FinishAsync(string model, string runId, string instanceId, CancellationToken ct = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (state, etag) = await ReadAsync(model, ct).ConfigureAwait(false);
            if (state.Active != runId)
            {
                return null; // taken over after being judged dead, or already finished by an earlier attempt
            }

            var pending = state.Pending;
            var next = pending is null
                ? state with { Active = null, ActiveInstance = null, ActiveSince = null }
                : new QueueState(pending.RunId, instanceId, DateTimeOffset.UtcNow, null);
            if (await TryWriteAsync(model, next, etag, ct).ConfigureAwait(false))
            {
                return pending;
            }

            if (attempt > 50)
            {
                throw new RequestFailedException(409, $"The run queue of '{model}' kept changing; try again.");
            }
        }
    }

    /// <summary>Gives up the active place of a run that could not be started.</summary>
    public async Task ReleaseAsync(string model, string runId, CancellationToken ct = default)
    {
        var (state, etag) = await ReadAsync(model, ct).ConfigureAwait(false);
        if (state.Active == runId)
        {
            await TryWriteAsync(model, state with { Active = null, ActiveInstance = null, ActiveSince = null }, etag, ct).ConfigureAwait(false);
        }
    }

    private async Task<(QueueState State, ETag? ETag)> ReadAsync(string model, CancellationToken ct)
    {
        var row = await table.GetEntityIfExistsAsync<TableEntity>(model, QueueRow, cancellationToken: ct).ConfigureAwait(false);
        return row.HasValue ? (TableJson.Read<QueueState>(row.Value!), row.Value!.ETag) : (QueueState.Empty, null);
    }

    private async Task<bool> TryWriteAsync(string model, QueueState state, ETag? etag, CancellationToken ct)
    {
        var entity = new TableEntity(model, QueueRow) { ["Active"] = state.Active };
        TableJson.Write(entity, state);
        try
        {
            if (etag is { } e)
            {
                await table.UpdateEntityAsync(entity, e, TableUpdateMode.Replace, ct).ConfigureAwait(false);
            }
            else
            {
                await table.AddEntityAsync(entity, ct).ConfigureAwait(false);
            }

            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return false;
        }
    }
}

/// <summary>A model's single-flight state: the active run (and the durable instance running it) and the one pending request.</summary>
public sealed record QueueState(string? Active, string? ActiveInstance, DateTimeOffset? ActiveSince, RunRequest? Pending)
{
    public static readonly QueueState Empty = new(null, null, null, null);
}
