using System.Globalization;
using Azure;
using Azure.Data.Tables;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Registry;

/// <summary>
/// The registry in Azure Tables: one partition per model holding its spec, versions, slot pointers and events.
/// Every slot change is one entity-group transaction (pointer row guarded by its ETag, plus the event row), so
/// readers never see half a swap and of two concurrent swaps exactly one wins.
/// </summary>
public sealed class ModelRegistry(TableServiceClient service)
{
    public const string TableName = "MlopsRegistry";
    private const string SpecRow = "spec";
    private const string MetaRow = "meta";
    private const string SlotsRow = "slots";
    private const string VersionPrefix = "version-";
    private const string EventPrefix = "event-";
    private const string DatasetPrefix = "dataset-";

    private readonly TableClient table = service.GetTableClient(TableName);

    public Task EnsureTableAsync(CancellationToken ct = default) => table.CreateIfNotExistsAsync(ct);

    public async Task<ModelSpec?> GetSpecAsync(string model, CancellationToken ct = default)
    {
        var row = await FindAsync(model, SpecRow, ct).ConfigureAwait(false);
        return row is null ? null : TableJson.Read<ModelSpec>(row);
    }

    /// <summary>Creates or replaces the spec; returns true when it was created.</summary>
    public async Task<bool> PutSpecAsync(string model, ModelSpec spec, CancellationToken ct = default)
    {
        var existed = await FindAsync(model, SpecRow, ct).ConfigureAwait(false) is not null;
        var entity = new TableEntity(model, SpecRow) { ["UpdatedAt"] = DateTimeOffset.UtcNow };
        TableJson.Write(entity, spec);
        await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, ct).ConfigureAwait(false);
        return !existed;
    }

    public async Task<IReadOnlyList<ModelSummary>> ListModelsAsync(CancellationToken ct = default)
    {
        var rows = new Dictionary<string, Dictionary<string, TableEntity>>(StringComparer.Ordinal);
        var filter = $"RowKey eq '{SpecRow}' or RowKey eq '{SlotsRow}' or RowKey eq '{MetaRow}'";
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
        {
            if (!rows.TryGetValue(row.PartitionKey, out var byKey))
            {
                rows[row.PartitionKey] = byKey = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
            }

            byKey[row.RowKey] = row;
        }

        return rows.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => Summary(r.Key, r.Value)).ToList();
    }

    public async Task<ModelSummary?> GetSummaryAsync(string model, CancellationToken ct = default)
    {
        var rows = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {model} and (RowKey eq {SpecRow} or RowKey eq {SlotsRow} or RowKey eq {MetaRow})");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
        {
            rows[row.RowKey] = row;
        }

        return rows.ContainsKey(SpecRow) ? Summary(model, rows) : null;
    }

    private static ModelSummary Summary(string model, Dictionary<string, TableEntity> rows) => new(
        model,
        rows.TryGetValue(SpecRow, out var spec) ? TableJson.Read<ModelSpec>(spec) : null,
        rows.TryGetValue(SlotsRow, out var slots) ? ToSlots(slots) : SlotState.Empty,
        rows.TryGetValue(MetaRow, out var meta) ? meta.GetInt32("LastVersion") ?? 0 : 0,
        spec?.GetDateTimeOffset("UpdatedAt"));

    /// <summary>The newest accepted dataset of a model, which a scheduled or manual retrain uses.</summary>
    public async Task<string?> GetLatestDatasetAsync(string model, CancellationToken ct = default) =>
        (await FindAsync(model, MetaRow, ct).ConfigureAwait(false))?.GetString("LatestDataset");

    public async Task SetLatestDatasetAsync(string model, string dataset, CancellationToken ct = default)
    {
        var entity = new TableEntity(model, MetaRow) { ["LatestDataset"] = dataset, ["LatestDatasetAt"] = DateTimeOffset.UtcNow };
        await table.UpsertEntityAsync(entity, TableUpdateMode.Merge, ct).ConfigureAwait(false);
    }

    /// <summary>The last schedule occurrence a retrain was considered for (survives restarts, so missed occurrences run once).</summary>
    public async Task<DateTimeOffset?> GetScheduleMarkAsync(string model, CancellationToken ct = default) =>
        (await FindAsync(model, MetaRow, ct).ConfigureAwait(false))?.GetDateTimeOffset("ScheduleMark");

    public async Task SetScheduleMarkAsync(string model, DateTimeOffset occurrence, CancellationToken ct = default) =>
        await table.UpsertEntityAsync(new TableEntity(model, MetaRow) { ["ScheduleMark"] = occurrence }, TableUpdateMode.Merge, ct).ConfigureAwait(false);

    /// <summary>Records an accepted dataset in the model's catalog (idempotent: content-addressed) and makes it the latest.</summary>
    public async Task AddDatasetAsync(string model, DatasetRecord dataset, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var entity = new TableEntity(model, DatasetPrefix + dataset.Sha256) { ["AcceptedAt"] = dataset.AcceptedAt };
        TableJson.Write(entity, dataset);
        try
        {
            await table.AddEntityAsync(entity, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // The same content accepted again keeps its first acceptance time: a re-upload is not new data.
        }

        await SetLatestDatasetAsync(model, dataset.Dataset, ct).ConfigureAwait(false);
    }

    /// <summary>The model's accepted datasets, oldest first.</summary>
    public async Task<IReadOnlyList<DatasetRecord>> ListDatasetsAsync(string model, CancellationToken ct = default)
    {
        var list = new List<DatasetRecord>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {model} and RowKey ge {DatasetPrefix} and RowKey lt {DatasetPrefix + "~"}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
        {
            list.Add(TableJson.Read<DatasetRecord>(row));
        }

        return list.OrderBy(d => d.AcceptedAt).ThenBy(d => d.Sha256, StringComparer.Ordinal).ToList();
    }

    public async Task<DatasetRecord?> GetDatasetAsync(string model, string sha256, CancellationToken ct = default)
    {
        var row = await FindAsync(model, DatasetPrefix + sha256, ct).ConfigureAwait(false);
        return row is null ? null : TableJson.Read<DatasetRecord>(row);
    }

    public async Task RemoveDatasetAsync(string model, string sha256, CancellationToken ct = default) =>
        await table.DeleteEntityAsync(model, DatasetPrefix + sha256, ETag.All, ct).ConfigureAwait(false);

    /// <summary>
    /// Gives a run its version number: the next integer, or the one this run already holds (activities may be retried).
    /// The counter update and the new version row commit together.
    /// </summary>
    public async Task<int> ReserveVersionAsync(string model, Func<int, ModelVersion> create, string runId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(create);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await FindVersionByRunAsync(model, runId, ct).ConfigureAwait(false);
            if (existing is not null)
            {
                return existing.Version;
            }

            var meta = await FindAsync(model, MetaRow, ct).ConfigureAwait(false);
            var next = (meta?.GetInt32("LastVersion") ?? 0) + 1;
            var version = create(next);
            var counter = new TableEntity(model, MetaRow) { ["LastVersion"] = next };
            var versionRow = VersionEntity(model, version);
            versionRow["RunId"] = runId;
            TableTransactionAction[] actions = meta is null
                ? [new(TableTransactionActionType.Add, counter), new(TableTransactionActionType.Add, versionRow)]
                : [new(TableTransactionActionType.UpdateMerge, counter, meta.ETag), new(TableTransactionActionType.Add, versionRow)];
            try
            {
                await table.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
                return next;
            }
            catch (TableTransactionFailedException) when (attempt < 20)
            {
                // Another run took this number first; read the counter again.
            }
        }
    }

    public async Task UpdateVersionAsync(string model, ModelVersion version, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        var entity = VersionEntity(model, version);
        entity["RunId"] = version.RunId;
        await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, ct).ConfigureAwait(false);
    }

    public async Task<ModelVersion?> GetVersionAsync(string model, int version, CancellationToken ct = default)
    {
        var row = await FindAsync(model, VersionKey(version), ct).ConfigureAwait(false);
        return row is null ? null : TableJson.Read<ModelVersion>(row);
    }

    /// <summary>All versions, newest first.</summary>
    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string model, CancellationToken ct = default)
    {
        var list = new List<ModelVersion>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {model} and RowKey ge {VersionPrefix} and RowKey lt {VersionPrefix + "~"}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
        {
            list.Add(TableJson.Read<ModelVersion>(row));
        }

        return list.OrderByDescending(v => v.Version).ToList();
    }

    /// <summary>Events, oldest first.</summary>
    public async Task<IReadOnlyList<RegistryEvent>> ListEventsAsync(string model, CancellationToken ct = default)
    {
        var list = new List<RegistryEvent>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {model} and RowKey ge {EventPrefix} and RowKey lt {EventPrefix + "~"}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
        {
            list.Add(TableJson.Read<RegistryEvent>(row));
        }

        return list;
    }

    /// <summary>Appends an event that changes no slot (a dataset expired, a drift alarm...), so the history tells it too.</summary>
    public async Task RecordEventAsync(string model, RegistryEvent evt, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        var row = new TableEntity(model, EventKey(evt.At));
        TableJson.Write(row, evt);
        await table.AddEntityAsync(row, ct).ConfigureAwait(false);
    }

    /// <summary>What serving needs of a model, in one partition query: its slot pointers and its spec (null when undefined).</summary>
    public async Task<(SlotState Slots, ModelSpec? Spec)> GetServingStateAsync(string model, CancellationToken ct = default)
    {
        var slots = SlotState.Empty;
        ModelSpec? spec = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {model} and (RowKey eq {SpecRow} or RowKey eq {SlotsRow})");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
        {
            if (row.RowKey == SlotsRow)
            {
                slots = ToSlots(row);
            }
            else
            {
                spec = TableJson.Read<ModelSpec>(row);
            }
        }

        return (slots, spec);
    }

    /// <summary>
    /// Appends an event that moves no slot (a failed smoke test); it records the slots as they are, so the history
    /// still reads as a sequence of production states.
    /// </summary>
    public async Task RecordEventAsync(string model, string kind, int? version, string actor, string reason, CancellationToken ct = default)
    {
        var slots = await GetSlotsAsync(model, ct).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        var evt = new RegistryEvent(kind, version, slots.Production, slots.Production, slots.Staging, slots.Staging, actor, reason, now);
        await RecordEventAsync(model, evt, ct).ConfigureAwait(false);
    }

    public async Task<SlotState> GetSlotsAsync(string model, CancellationToken ct = default)
    {
        var row = await FindAsync(model, SlotsRow, ct).ConfigureAwait(false);
        return row is null ? SlotState.Empty : ToSlots(row);
    }

    /// <summary>Puts a version into staging. Idempotent: staging it again changes nothing.</summary>
    public Task<SlotState> StageAsync(string model, int version, string actor, string reason, CancellationToken ct = default) =>
        ChangeSlotsAsync(model, "stage", version, actor, reason, s =>
            s.Staging == version ? null : s with { Staging = version }, ct);

    /// <summary>Swaps staging and production; the old production is remembered for rollback.</summary>
    /// <param name="expectedStaging">When set, the swap happens only if this version is in staging (a retried pipeline step swaps once).</param>
    public Task<SlotState> SwapAsync(string model, string actor, string reason, int? expectedStaging = null, CancellationToken ct = default) =>
        ChangeSlotsAsync(model, "swap", expectedStaging, actor, reason, s =>
        {
            if (expectedStaging is not null && s.Production == expectedStaging && s.Staging != expectedStaging)
            {
                return null; // already swapped by an earlier attempt of the same step
            }

            if (s.Staging is null)
            {
                throw new RegistryConflictException($"Model '{model}' has no version in staging to swap into production.");
            }

            if (expectedStaging is not null && s.Staging != expectedStaging)
            {
                throw new RegistryConflictException($"Staging of '{model}' holds v{s.Staging}, not v{expectedStaging}.");
            }

            var history = s.Production is { } p ? [.. s.History, p] : s.History;
            return new SlotState(s.Staging, s.Production, history);
        }, ct);

    /// <summary>Production goes back to the version it had before the last swap.</summary>
    /// <param name="expectedTarget">When set, the rollback happens only if it would restore this version (the one a smoke test checked).</param>
    public Task<SlotState> RollbackAsync(string model, string actor, string reason, int? expectedTarget = null, CancellationToken ct = default) =>
        ChangeSlotsAsync(model, "rollback", null, actor, reason, s =>
        {
            if (s.History.Count == 0)
            {
                throw new RegistryConflictException($"Model '{model}' has no earlier production version to roll back to.");
            }

            if (expectedTarget is not null && s.History[^1] != expectedTarget)
            {
                throw new RegistryConflictException($"The slots of '{model}' changed: a rollback would now restore v{s.History[^1]}, not v{expectedTarget}.");
            }

            return s with { Production = s.History[^1], History = s.History.Take(s.History.Count - 1).ToList() };
        }, ct);

    /// <summary>Clears staging when it holds the given version (a declined candidate).</summary>
    public Task<SlotState> UnstageAsync(string model, int version, string actor, string reason, CancellationToken ct = default) =>
        ChangeSlotsAsync(model, "unstage", version, actor, reason, s =>
            s.Staging == version ? s with { Staging = null } : null, ct);

    private async Task<SlotState> ChangeSlotsAsync(
        string model, string kind, int? version, string actor, string reason, Func<SlotState, SlotState?> change, CancellationToken ct)
    {
        var row = await FindAsync(model, SlotsRow, ct).ConfigureAwait(false);
        var before = row is null ? SlotState.Empty : ToSlots(row);
        var after = change(before);
        if (after is null)
        {
            return before;
        }

        var now = DateTimeOffset.UtcNow;
        var slots = new TableEntity(model, SlotsRow)
        {
            ["Production"] = after.Production,
            ["Staging"] = after.Staging,
            ["History"] = string.Join(',', after.History),
            ["UpdatedAt"] = now,
        };
        var evt = new RegistryEvent(kind, version ?? after.Production, before.Production, after.Production, before.Staging, after.Staging, actor, reason, now);
        var eventRow = new TableEntity(model, EventKey(now));
        TableJson.Write(eventRow, evt);
        TableTransactionAction[] actions =
        [
            row is null
                ? new(TableTransactionActionType.Add, slots)
                : new(TableTransactionActionType.UpdateReplace, slots, row.ETag),
            new(TableTransactionActionType.Add, eventRow),
        ];
        try
        {
            await table.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
        {
            throw new RegistryConflictException($"The slots of '{model}' changed while this {kind} was being made; read them again and retry.");
        }

        return after;
    }

    private static SlotState ToSlots(TableEntity row)
    {
        var history = row.GetString("History");
        return new SlotState(
            row.GetInt32("Production"),
            row.GetInt32("Staging"),
            string.IsNullOrEmpty(history) ? [] : history.Split(',').Select(h => int.Parse(h, CultureInfo.InvariantCulture)).ToList());
    }

    private async Task<ModelVersion?> FindVersionByRunAsync(string model, string runId, CancellationToken ct)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {model} and RunId eq {runId}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
        {
            return TableJson.Read<ModelVersion>(row);
        }

        return null;
    }

    private static TableEntity VersionEntity(string model, ModelVersion version)
    {
        var entity = new TableEntity(model, VersionKey(version.Version)) { ["Version"] = version.Version, ["Status"] = version.Status };
        TableJson.Write(entity, version);
        return entity;
    }

    private static string EventKey(DateTimeOffset at) => $"{EventPrefix}{at.UtcTicks:D19}-{Guid.NewGuid():N}";

    private static string VersionKey(int version) => $"{VersionPrefix}{version:D6}";

    private async Task<TableEntity?> FindAsync(string model, string rowKey, CancellationToken ct)
    {
        var result = await table.GetEntityIfExistsAsync<TableEntity>(model, rowKey, cancellationToken: ct).ConfigureAwait(false);
        return result.HasValue ? result.Value : null;
    }
}
