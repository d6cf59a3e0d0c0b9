using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Serving counters per model and version (requests answered by slot and canary, captured and dropped rows, shadow
/// agreement or error). They are kept in memory per instance (lock-free increments on the request path) and flushed
/// every <see cref="FlushInterval"/> to one row per instance in the MlopsServing table, so the monitoring summary adds
/// up every instance: flushed rows of the others plus this instance's live counters.
/// </summary>
public sealed partial class ServingMonitor(TableServiceClient tables, ILogger<ServingMonitor> logger)
{
    public const string TableName = "MlopsServing";
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, ModelCounters> models = new(StringComparer.Ordinal);
    private readonly TableClient table = tables.GetTableClient(TableName);

    private ILogger Logger => logger;

    public ModelCounters For(string model) => models.GetOrAdd(model, static _ => new ModelCounters());

    public Task EnsureTableAsync(CancellationToken ct = default) => table.CreateIfNotExistsAsync(ct);

    /// <summary>Writes each model's counters that changed since the last flush to this instance's row.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        foreach (var (model, counters) in models)
        {
            var version = counters.ChangeCount;
            if (version == counters.FlushedChangeCount)
            {
                continue;
            }

            var snapshot = counters.Snapshot();
            var row = new TableEntity(model, ServingInstance.Id) { ["Data"] = Json.Serialize(snapshot), ["UpdatedAt"] = DateTimeOffset.UtcNow };
            await table.UpsertEntityAsync(row, TableUpdateMode.Replace, ct).ConfigureAwait(false);
            counters.FlushedChangeCount = version;
        }
    }

    /// <summary>The model's counters over every instance: other instances' flushed rows plus this one's live values.</summary>
    public async Task<MonitoringSummary> SummarizeAsync(string model, ServingState? state, CancellationToken ct = default)
    {
        var snapshots = new List<CountersSnapshot>();
        try
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {model}");
            await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct).ConfigureAwait(false))
            {
                if (row.RowKey != ServingInstance.Id)
                {
                    snapshots.Add(Json.Deserialize<CountersSnapshot>(row.GetString("Data")));
                }
            }
        }
        catch (RequestFailedException ex)
        {
            LogSummaryPartial(logger, ex, model); // this instance's counters still answer
        }

        var instances = snapshots.Count;
        if (models.TryGetValue(model, out var live))
        {
            snapshots.Add(live.Snapshot());
            instances++;
        }

        var versions = snapshots.SelectMany(s => s.Versions)
            .GroupBy(v => v.Version)
            .OrderByDescending(g => g.Key)
            .Select(g => VersionSummary.Sum(g.Key, g.ToList()))
            .ToList();
        long eligible = snapshots.Sum(s => s.CanaryEligible), routed = snapshots.Sum(s => s.CanaryRouted);
        return new MonitoringSummary(
            instances,
            new CanarySummary(state?.CanaryPercent ?? 0, state?.CanaryPercent > 0 ? state.Slots.Staging : null, eligible, routed,
                eligible == 0 ? null : (double)routed / eligible),
            new ShadowSummary(state?.Shadow == true, state?.Shadow == true ? state.Slots.Staging : null),
            versions);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Serving counters of other instances unreadable for {Model}; answering with this instance's")]
    private static partial void LogSummaryPartial(ILogger logger, Exception exception, string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flushing serving counters failed; will retry")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    /// <summary>Flushes the counters periodically and at shutdown.</summary>
    public sealed class Flusher(ServingMonitor monitor) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(FlushInterval);
            try
            {
                while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                {
                    await TryFlushAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
            }

            using var last = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await TryFlushAsync(last.Token).ConfigureAwait(false);
        }

        private async Task TryFlushAsync(CancellationToken ct)
        {
            try
            {
                await monitor.FlushAsync(ct).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Counters are best effort: storage trouble must not stop the service.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogFlushFailed(monitor.Logger, ex);
            }
        }
    }
}

/// <summary>This process's id among serving instances: names its capture files and its row of counters.</summary>
public static partial class ServingInstance
{
    public static string Id { get; } = $"{Sanitize(Environment.MachineName)}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";

    private static string Sanitize(string name)
    {
        var clean = Unsafe().Replace(name.ToLowerInvariant(), "-");
        return clean.Length > 40 ? clean[..40] : clean;
    }

    [GeneratedRegex("[^a-z0-9-]")]
    private static partial Regex Unsafe();
}

/// <summary>Live counters of one model on this instance.</summary>
public sealed class ModelCounters
{
    private readonly ConcurrentDictionary<int, VersionCounters> versions = new();
    private long canaryEligible;
    private long canaryRouted;
    private long changes;

    internal long ChangeCount => Volatile.Read(ref changes);

    internal long FlushedChangeCount { get; set; }

    public VersionCounters Version(int version) => versions.GetOrAdd(version, static (v, owner) => new VersionCounters(owner), this);

    /// <summary>A production request while a canary was configured; <paramref name="routed"/> when the staged version answered it.</summary>
    public void Canary(bool routed)
    {
        Interlocked.Increment(ref canaryEligible);
        if (routed)
        {
            Interlocked.Increment(ref canaryRouted);
        }
    }

    internal void Changed() => Interlocked.Increment(ref changes);

    internal CountersSnapshot Snapshot() => new(
        Interlocked.Read(ref canaryEligible),
        Interlocked.Read(ref canaryRouted),
        versions.OrderBy(v => v.Key).Select(v => v.Value.Snapshot(v.Key)).ToList());
}

/// <summary>Live counters of one model version on this instance.</summary>
public sealed class VersionCounters
{
    private readonly ModelCounters owner;
    private readonly Lock shadowLock = new();
    private long production;
    private long canary;
    private long staging;
    private long captured;
    private long dropped;
    private long shadowCompared;
    private long shadowAgreed;
    private double shadowAbsErrorSum;
    private long shadowDropped;
    private long shadowFailed;
    private int? shadowAgainst;
    private bool shadowRegression;

    internal VersionCounters(ModelCounters owner) => this.owner = owner;

    public long DroppedRows => Interlocked.Read(ref dropped);

    public long CapturedRows => Interlocked.Read(ref captured);

    public void Answered(string slot, bool asCanary)
    {
        Interlocked.Increment(ref asCanary ? ref canary : ref slot == Registry.Slots.Staging ? ref staging : ref production);
        owner.Changed();
    }

    public void Captured(int rows) => Add(ref captured, rows);

    public void Dropped(int rows) => Add(ref dropped, rows);

    public void ShadowDropped(int rows) => Add(ref shadowDropped, rows);

    public void ShadowFailed(int rows) => Add(ref shadowFailed, rows);

    /// <summary>Records shadow comparisons of this (staged) version against production: agreeing labels, or the sum of absolute differences.</summary>
    public void Shadow(int against, bool regression, int compared, int agreed, double absErrorSum)
    {
        lock (shadowLock)
        {
            shadowAgainst = against;
            shadowRegression = regression;
            shadowCompared += compared;
            shadowAgreed += agreed;
            shadowAbsErrorSum += absErrorSum;
        }

        owner.Changed();
    }

    private void Add(ref long counter, int rows)
    {
        Interlocked.Add(ref counter, rows);
        owner.Changed();
    }

    internal VersionSnapshot Snapshot(int version)
    {
        lock (shadowLock)
        {
            return new VersionSnapshot(version, Interlocked.Read(ref production), Interlocked.Read(ref canary), Interlocked.Read(ref staging),
                Interlocked.Read(ref captured), Interlocked.Read(ref dropped), shadowAgainst, shadowRegression, shadowCompared, shadowAgreed, shadowAbsErrorSum,
                Interlocked.Read(ref shadowDropped), Interlocked.Read(ref shadowFailed));
        }
    }
}

/// <summary>One instance's counters of a model, as flushed to its table row.</summary>
public sealed record CountersSnapshot(long CanaryEligible, long CanaryRouted, IReadOnlyList<VersionSnapshot> Versions);

/// <summary>One instance's counters of a version.</summary>
public sealed record VersionSnapshot(
    int Version, long Production, long Canary, long Staging, long Captured, long Dropped,
    int? ShadowAgainst, bool ShadowRegression, long ShadowCompared, long ShadowAgreed, double ShadowAbsErrorSum, long ShadowDropped, long ShadowFailed);

/// <summary>The monitoring object of GET /api/models/{model}.</summary>
public sealed record MonitoringSummary(int Instances, CanarySummary Canary, ShadowSummary Shadow, IReadOnlyList<VersionSummary> Versions);

/// <summary>Canary setting and the share of production requests the staged version actually answered.</summary>
public sealed record CanarySummary(double Percent, int? Version, long Requests, long Routed, double? Share);

/// <summary>Whether shadow scoring is on, and for which staged version.</summary>
public sealed record ShadowSummary(bool Enabled, int? Version);

/// <summary>Requests one version answered (as production, as canary, as staging), its captured and dropped rows, and its shadow results.</summary>
public sealed record VersionSummary(
    int Version, long Answered, long Production, long Canary, long Staging, long Captured, long Dropped, ShadowResult? Shadow)
{
    internal static VersionSummary Sum(int version, List<VersionSnapshot> parts)
    {
        long compared = parts.Sum(p => p.ShadowCompared), agreed = parts.Sum(p => p.ShadowAgreed);
        long shadowDropped = parts.Sum(p => p.ShadowDropped), shadowFailed = parts.Sum(p => p.ShadowFailed);
        var abs = parts.Sum(p => p.ShadowAbsErrorSum);
        var against = parts.Select(p => p.ShadowAgainst).LastOrDefault(a => a is not null);
        var regression = parts.Any(p => p.ShadowRegression);
        var shadow = compared + shadowDropped + shadowFailed == 0 ? null : new ShadowResult(
            against, compared, regression ? null : agreed, compared == 0 || regression ? null : (double)agreed / compared,
            compared == 0 || !regression ? null : abs / compared, shadowDropped, shadowFailed);
        long production = parts.Sum(p => p.Production), canary = parts.Sum(p => p.Canary), staging = parts.Sum(p => p.Staging);
        return new VersionSummary(version, production + canary + staging, production, canary, staging,
            parts.Sum(p => p.Captured), parts.Sum(p => p.Dropped), shadow);
    }
}

/// <summary>
/// Shadow scoring of a staged version against production on the same rows: share of equal labels (classification)
/// and mean absolute difference of scores (regression); dropped when the shadow queue was full, failed when the staged
/// version could not score the rows.
/// </summary>
public sealed record ShadowResult(int? Against, long Compared, long? Agreed, double? Agreement, double? MeanAbsoluteError, long Dropped, long Failed);
