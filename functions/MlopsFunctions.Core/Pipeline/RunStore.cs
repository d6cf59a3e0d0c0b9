using Azure;
using Azure.Data.Tables;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Tracked runs in their own table (one partition per model, one row per run): trigger, data, every candidate with
/// its parameters, metrics and duration, the chosen one, seed and versions of the app and ML.NET. Queued, superseded
/// and skipped runs are recorded too, so a model's history of runs is complete without the durable task hub.
/// </summary>
public sealed class RunStore(TableServiceClient service)
{
    public const string TableName = "MlopsRuns";
    public const int MaxListed = 100;

    private readonly TableClient table = service.GetTableClient(TableName);

    public Task EnsureTableAsync(CancellationToken ct = default) => table.CreateIfNotExistsAsync(ct);

    /// <summary>Records a new run; false when a run with this id already exists.</summary>
    public async Task<bool> TryCreateAsync(RunRecord run, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        try
        {
            await table.AddEntityAsync(Entity(run), ct).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    public async Task<RunRecord?> GetAsync(string model, string runId, CancellationToken ct = default)
    {
        var row = await table.GetEntityIfExistsAsync<TableEntity>(model, runId, cancellationToken: ct).ConfigureAwait(false);
        return row.HasValue ? TableJson.Read<RunRecord>(row.Value!) : null;
    }

    /// <summary>A run by id alone: its model is the id's prefix.</summary>
    public Task<RunRecord?> GetAsync(string runId, CancellationToken ct = default) =>
        RunIds.ModelOf(runId) is { } model ? GetAsync(model, runId, ct) : Task.FromResult<RunRecord?>(null);

    /// <summary>A model's runs, newest first.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(string model, int max = MaxListed, CancellationToken ct = default)
    {
        var runs = new List<RunRecord>();
        await foreach (var row in table.QueryAsync<TableEntity>(r => r.PartitionKey == model, cancellationToken: ct).ConfigureAwait(false))
        {
            runs.Add(TableJson.Read<RunRecord>(row));
        }

        return runs.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.RunId, StringComparer.Ordinal).Take(max).ToList();
    }

    /// <summary>Changes a run under optimistic concurrency (candidates finishing in parallel update the same run).</summary>
    public async Task<RunRecord?> UpdateAsync(string model, string runId, Func<RunRecord, RunRecord> change, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 0; ; attempt++)
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(model, runId, cancellationToken: ct).ConfigureAwait(false);
            if (!row.HasValue)
            {
                return null;
            }

            var updated = change(TableJson.Read<RunRecord>(row.Value!)) with { UpdatedAt = DateTimeOffset.UtcNow };
            try
            {
                await table.UpdateEntityAsync(Entity(updated), row.Value!.ETag, TableUpdateMode.Replace, ct).ConfigureAwait(false);
                return updated;
            }
            catch (RequestFailedException ex) when (ex.Status == 412 && attempt < 50)
            {
                // Someone else updated it first; apply the change to their version.
            }
        }
    }

    /// <summary>Adds an activity's duration to the run's timings (a retried activity adds its retries' time too).</summary>
    public Task RecordTimingAsync(string model, string runId, string stage, TimeSpan elapsed, CancellationToken ct = default) =>
        UpdateAsync(model, runId, r =>
        {
            var timings = new Dictionary<string, double>(r.Timings ?? new Dictionary<string, double>(), StringComparer.Ordinal);
            timings[stage] = Math.Round(timings.GetValueOrDefault(stage) + elapsed.TotalSeconds, 3);
            return r with { Timings = timings };
        }, ct);

    private static TableEntity Entity(RunRecord run)
    {
        var entity = new TableEntity(run.Model, run.RunId) { ["Status"] = run.Status, ["CreatedAt"] = run.CreatedAt };
        TableJson.Write(entity, run);
        return entity;
    }
}
