using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// One monitoring check of one model, under a lease on its state blob so two hosts never check it at once: drift of
/// the inputs served since the last check (per-hour reports), feedback joined to its predictions, the live metric, and
/// then the loop's decisions. Drift over monitoring.psiThreshold and a live metric past monitoring.decay.min each
/// raise an alarm (a registry event) on the production version; an alarm retrains through PipelineStarter's single
/// flight, with a run id fixed per version and alarm (repeated checks start nothing more), once labelled data newer
/// than that version exists. Labelled feedback becomes a dataset before such a retrain, or once 1,000 rows wait.
/// </summary>
public sealed partial class ModelMonitor
{
    public const double DefaultPsiThreshold = 0.2;
    public const string Actor = "monitor";

    /// <summary>Joined rows that make a dataset without waiting for a retrain.</summary>
    public const int FeedbackDatasetRows = 1000;

    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan LeaseRenewal = TimeSpan.FromSeconds(20);

    private readonly BlobStore store;
    private readonly ModelRegistry registry;
    private readonly VersionDocuments documents;
    private readonly PipelineStarter starter;
    private readonly MlopsOptions settings;
    private readonly TimeProvider time;
    private readonly ILogger<ModelMonitor> logger;
    private readonly DriftMonitor drift;
    private readonly FeedbackJoiner joiner;
    private readonly LiveMetrics live;
    private readonly FeedbackDatasets datasets;

    public ModelMonitor(
        BlobStore store, DriftReports reports, DatasetIntake intake, ModelRegistry registry, VersionDocuments documents, PipelineStarter starter,
        IOptions<MlopsOptions> options, TimeProvider time, ILogger<ModelMonitor> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        this.store = store;
        this.registry = registry;
        this.documents = documents;
        this.starter = starter;
        this.time = time;
        this.logger = logger;
        settings = options.Value;
        drift = new DriftMonitor(store.Service, reports, logger);
        joiner = new FeedbackJoiner(store.Service, logger);
        live = new LiveMetrics(store.Service);
        datasets = new FeedbackDatasets(store.Service, intake, logger);
    }

    /// <summary>The model's monitor state, or null before its first check.</summary>
    public async Task<MonitorState?> ReadStateAsync(string model, CancellationToken ct = default)
    {
        var content = await store.TryDownloadAsync(MonitoringPaths.State(model), ct).ConfigureAwait(false);
        return content is null || content.ToMemory().Length < 3 ? null : Json.Deserialize<MonitorState>(content.ToString());
    }

    /// <summary>Checks the model now; false when another host holds its lease (it is checking it).</summary>
    public async Task<bool> CheckAsync(DurableTaskClient client, string model, CancellationToken ct = default)
    {
        var blob = store.Blob(MonitoringPaths.State(model));
        var lease = blob.GetBlobLeaseClient();
        if (!await TryAcquireAsync(blob, lease, ct).ConfigureAwait(false))
        {
            LogBusy(logger, model);
            return false;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var renewal = RenewAsync(lease, stop.Token);
        try
        {
            var state = await ReadStateAsync(model, ct).ConfigureAwait(false) ?? new MonitorState();
            await RunAsync(client, model, state, ct).ConfigureAwait(false);
            await blob.UploadAsync(BinaryData.FromString(Json.Serialize(state)), new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                Conditions = new BlobRequestConditions { LeaseId = lease.LeaseId },
            }, ct).ConfigureAwait(false);
            return true;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
            try
            {
                await lease.ReleaseAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            catch (RequestFailedException ex)
            {
                LogLeaseRelease(logger, ex, model); // it expires by itself within a minute
            }
        }
    }

    private async Task RunAsync(DurableTaskClient client, string model, MonitorState state, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var since = state.LastCheck ?? now.AddHours(-1);
        var spec = await registry.GetSpecAsync(model, ct).ConfigureAwait(false);
        if (spec is null || (await registry.GetSlotsAsync(model, ct).ConfigureAwait(false)).Production is not { } version ||
            await registry.GetVersionAsync(model, version, ct).ConfigureAwait(false) is not { } production)
        {
            state.LastCheck = now;
            return;
        }

        var details = await documents.LoadAsync(production, ct).ConfigureAwait(false);
        if (details.Schema is not { } schema || details.Profile is not { } profile)
        {
            // A version without a readable schema and training profile has no baseline to compare with; feedback still joins.
            LogNoBaseline(logger, model, version);
            await joiner.JoinAsync(model, state, now, ct).ConfigureAwait(false);
            state.LastCheck = now;
            return;
        }

        var threshold = spec.Monitoring?.PsiThreshold ?? DefaultPsiThreshold;
        var hours = await drift.CheckAsync(model, version, profile, schema, threshold, since, now,
            new ColumnChecks(settings.MaxCategories, false, (ulong)settings.Seed), ct).ConfigureAwait(false);
        var joined = await joiner.JoinAsync(model, state, now, ct).ConfigureAwait(false);
        if (joined > 0 || state.Live is null || state.Live.Version != version)
        {
            state.Live = await live.ComputeAsync(model, production, schema, spec, now, ct).ConfigureAwait(false);
        }

        // Alarms belong to a production version: a new version starts with none.
        state.Drift = MonitorRules.Carry(state.Drift, version);
        state.Decay = MonitorRules.Carry(state.Decay, version);
        await JudgeDriftAsync(model, version, hours, now, ct).ConfigureAwait(false);
        await JudgeDecayAsync(model, version, state, now, ct).ConfigureAwait(false);
        await RetrainAsync(client, model, production, profile, schema, state, now, ct).ConfigureAwait(false);
        state.LastCheck = now;
        state.Version = version;

        async Task JudgeDriftAsync(string name, int v, IReadOnlyList<DriftReport> reports, DateTimeOffset at, CancellationToken token)
        {
            var judged = reports.Where(r => r.Judged).ToList();
            if (judged.Count == 0)
            {
                return; // no hour had enough new rows to say either way
            }

            var drifted = judged.Where(r => r.Drifted.Count > 0).ToList();
            if (drifted.Count == 0)
            {
                state.Drift = null;
                return;
            }

            if (!MonitorRules.Raises(state.Drift, v))
            {
                return;
            }

            var worst = drifted[^1];
            var features = worst.Features.Where(f => worst.Drifted.Contains(f.Name)).OrderByDescending(f => f.Psi)
                .Select(f => $"{f.Name} PSI {f.Psi!.Value.ToString("0.###", CultureInfo.InvariantCulture)}");
            var reason = $"inputs served by v{v} in {MonitoringPaths.Hour(worst.Hour)} drifted from its training data: {string.Join(", ", features)} " +
                         $"(over monitoring.psiThreshold {threshold.ToString(CultureInfo.InvariantCulture)}, {worst.Rows.ToString(CultureInfo.InvariantCulture)} rows)";
            state.Drift = new MonitorAlarm(v, at, reason);
            await registry.RecordEventAsync(name, EventKinds.Drift, v, Actor, reason, token).ConfigureAwait(false);
            LogAlarm(logger, name, EventKinds.Drift, reason);
        }
    }

    private async Task JudgeDecayAsync(string model, int version, MonitorState state, DateTimeOffset now, CancellationToken ct)
    {
        if (state.Live is not { } metric || metric.Version != version || metric.Value is not { } value || metric.Labelled < metric.MinLabelled)
        {
            return;
        }

        if (!metric.Decayed)
        {
            state.Decay = null;
            return;
        }

        if (!MonitorRules.Raises(state.Decay, version))
        {
            return;
        }

        var reason = $"live {metric.Metric} of v{version.ToString(CultureInfo.InvariantCulture)} is {value.ToString("0.####", CultureInfo.InvariantCulture)} over its newest " +
                     $"{metric.Labelled.ToString(CultureInfo.InvariantCulture)} labelled predictions, {(metric.HigherIsBetter ? "under" : "over")} monitoring.decay.min " +
                     $"{metric.Min!.Value.ToString(CultureInfo.InvariantCulture)}";
        state.Decay = new MonitorAlarm(version, now, reason);
        await registry.RecordEventAsync(model, EventKinds.Decay, version, Actor, reason, ct).ConfigureAwait(false);
        LogAlarm(logger, model, EventKinds.Decay, reason);
    }

    /// <summary>Builds a dataset from labelled feedback when one is due, and starts the alarms' retrain once there is new labelled data.</summary>
    private async Task RetrainAsync(
        DurableTaskClient client, string model, ModelVersion production, DataProfile profile, DatasetSchema schema, MonitorState state, DateTimeOffset now, CancellationToken ct)
    {
        var version = production.Version;
        var retrain = MonitorRules.Retrain(model, version, state.Drift, state.Decay);
        var runId = retrain?.RunId;
        if (state.UnlabelledRows >= FeedbackDatasetRows || (runId is not null && state.UnlabelledRows > 0))
        {
            var reason = retrain is not { } due
                ? $"{state.UnlabelledRows.ToString(CultureInfo.InvariantCulture)} labelled predictions waited"
                : $"labelled predictions for the {due.Kind} retrain of v{version.ToString(CultureInfo.InvariantCulture)}";
            await datasets.BuildAsync(model, state, Columns(profile, schema), schema.Label, runId ?? $"{model}.feedback", reason, now, ct).ConfigureAwait(false);
        }

        if (retrain is not { } start)
        {
            return;
        }

        if (!await HasNewLabelledDataAsync(model, production, ct).ConfigureAwait(false))
        {
            LogWaiting(logger, model, start.Kind, version);
            return;
        }

        var (result, problem) = await starter.StartRetrainAsync(client, model, start.Kind, start.RunId, Actor, force: false, ct: ct).ConfigureAwait(false);
        if (problem is not null)
        {
            LogNotStarted(logger, model, start.RunId, problem.Message);
            return;
        }

        // One retrain answers both alarms: a second run on the same window would find nothing new.
        (state.Drift, state.Decay) = MonitorRules.Started(start.RunId, state.Drift, state.Decay);
        var why = $"retrain {start.RunId} ({result!.Message}): labelled data newer than v{version.ToString(CultureInfo.InvariantCulture)} exists";
        await registry.RecordEventAsync(model, start.Kind, version, Actor, why, ct).ConfigureAwait(false);
        LogRetrain(logger, model, start.RunId, start.Kind, result.Message);
    }

    /// <summary>Whether an accepted dataset (labelled feedback or an upload) came after the production version and is not in its lineage.</summary>
    private async Task<bool> HasNewLabelledDataAsync(string model, ModelVersion production, CancellationToken ct)
    {
        var trained = new HashSet<string>(production.Lineage.Datasets?.Select(d => d.Sha256) ?? [production.Lineage.DatasetSha256], StringComparer.Ordinal);
        return (await registry.ListDatasetsAsync(model, ct).ConfigureAwait(false)).Any(d => d.AcceptedAt > production.CreatedAt && !trained.Contains(d.Sha256));
    }

    /// <summary>The columns of the production version's training data (its profile's, in order), its features and the label.</summary>
    private static List<string> Columns(DataProfile profile, DatasetSchema schema)
    {
        var columns = profile.Columns.Select(c => c.Name).ToList();
        columns.AddRange(schema.Features.Where(f => !columns.Contains(f)));
        if (!columns.Contains(schema.Label))
        {
            columns.Add(schema.Label);
        }

        return columns;
    }

    private static async Task<bool> TryAcquireAsync(BlobClient blob, BlobLeaseClient lease, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                await lease.AcquireAsync(LeaseDuration, cancellationToken: ct).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status == 404 && attempt == 0)
            {
                try
                {
                    await blob.UploadAsync(BinaryData.FromString("{}"), new BlobUploadOptions
                    {
                        Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    }, ct).ConfigureAwait(false);
                }
                catch (RequestFailedException created) when (created.Status is 409 or 412)
                {
                    // another host created it first
                }
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                return false;
            }
        }

        return false;
    }

    private async Task RenewAsync(BlobLeaseClient lease, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(LeaseRenewal, time, ct).ConfigureAwait(false);
                await lease.RenewAsync(cancellationToken: ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (RequestFailedException ex)
        {
            LogLeaseLost(logger, ex, lease.Uri.ToString());
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Monitor of {Model} skipped: another host is checking it")]
    private static partial void LogBusy(ILogger logger, string model);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not release the monitor lease of {Model}")]
    private static partial void LogLeaseRelease(ILogger logger, Exception exception, string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Monitor lease {Blob} could not be renewed; another host may check the model too")]
    private static partial void LogLeaseLost(ILogger logger, Exception exception, string blob);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model} v{Version} has no readable schema or training profile: drift and the live metric are not computed")]
    private static partial void LogNoBaseline(ILogger logger, string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model}: {Kind} alarm: {Reason}")]
    private static partial void LogAlarm(ILogger logger, string model, string kind, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: {Kind} alarm on v{Version} waits for labelled data newer than the version before it retrains")]
    private static partial void LogWaiting(ILogger logger, string model, string kind, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model}: the monitor's retrain {RunId} could not start: {Reason}")]
    private static partial void LogNotStarted(ILogger logger, string model, string runId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: retrain {RunId} submitted for a {Kind} alarm: {Result}")]
    private static partial void LogRetrain(ILogger logger, string model, string runId, string kind, string result);
}
