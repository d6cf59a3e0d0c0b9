using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Checks one file against its model's spec and production's schema and training profile, streaming the blob once.
/// Accepted data is copied (server-side) to datasets/{model}/{sha256}.csv with its report, profile and schema, and
/// recorded in the model's dataset catalog; rejected data is copied to rejected/{model}/ beside a report that says
/// what to fix. One path for every file, whether a user dropped it or the monitor built it from labelled feedback.
/// </summary>
public sealed partial class DatasetIntake(
    BlobStore blobs, ModelRegistry registry, IOptions<MlopsOptions> options, TimeProvider time, ILogger<DatasetIntake> logger)
{
    /// <summary>Validates <paramref name="source"/>; the report is null only when the file vanished before it could be read.</summary>
    public async Task<(ValidationOutcome Outcome, ValidationReport? Report)> ValidateAsync(string model, string source, string runId, CancellationToken ct = default)
    {
        var path = BlobPath.Parse(source);
        var properties = await blobs.TryGetPropertiesAsync(path, ct).ConfigureAwait(false);
        if (properties is null)
        {
            return (new ValidationOutcome(false, [$"The file {path} was deleted before it could be read."], source), null);
        }

        var spec = await registry.GetSpecAsync(model, ct).ConfigureAwait(false);
        var settings = options.Value;
        ValidationReport report;
        DataProfile? profile = null;
        if (spec is null)
        {
            report = new ValidationReport
            {
                Model = model,
                Source = source,
                Accepted = false,
                Anomalies = [new Anomaly(AnomalyCodes.NoSpec, Severity.Error, null,
                    $"Model '{model}' has no spec: define it with PUT /api/models/{model}, then upload the file again (or POST /api/models/{model}/retrain with {{\"source\": \"{source}\"}}).")],
                Bytes = properties.ContentLength,
            };
        }
        else
        {
            var reference = await ReferenceAsync(model, ct).ConfigureAwait(false);
            await using var stream = await blobs.OpenReadAsync(path, properties.ETag, ct).ConfigureAwait(false);
            var context = new ValidationContext
            {
                Model = model,
                Source = source,
                Spec = spec,
                Limits = CsvLimits.From(settings),
                MinRows = settings.MinRows,
                Seed = settings.Seed,
                Reference = reference?.Schema,
                ReferenceProfile = reference?.Profile,
                ReferenceVersion = reference?.Version,
            };
            if (settings.Isolates(properties.ContentLength >= ValidatorProcess.AutoBytes))
            {
                LogWorkerProcess(logger, source, model, properties.ContentLength);
                (report, profile) = await ValidatorProcess.ValidateAsync(stream, context, WorkerSettings.From(settings), ct).ConfigureAwait(false);
            }
            else
            {
                // Spares still warming up stop for this and start again once the host is quiet (see WorkerPool).
                using var busy = WorkerPool.Busy(WorkerSettings.From(settings), worker: false);
                (report, profile) = DatasetValidator.Validate(stream, context);
            }
        }

        if (!report.Accepted || profile is null || report.Schema is null)
        {
            return (await RejectAsync(model, path, properties.ETag, report, ct).ConfigureAwait(false), report);
        }

        var sha = report.Sha256!;
        var dataset = BlobPath.Dataset(model, sha);
        BlobPath Beside(string suffix) => dataset with { Name = $"{model}/{sha}.{suffix}" };
        if (await blobs.TryGetPropertiesAsync(dataset, ct).ConfigureAwait(false) is null)
        {
            await blobs.CopyAsync(path, dataset, properties.ETag, "text/csv", ct).ConfigureAwait(false);
        }

        var reportPath = Beside("report.json");
        var profilePath = Beside("profile.json");
        var schemaPath = Beside("schema.json");
        await blobs.UploadJsonAsync(profilePath, profile, ct).ConfigureAwait(false);
        await blobs.UploadJsonAsync(schemaPath, report.Schema, ct).ConfigureAwait(false);
        await blobs.UploadJsonAsync(reportPath, report with { Profile = profilePath.ToString() }, ct).ConfigureAwait(false);
        await registry.AddDatasetAsync(model, new DatasetRecord(
            dataset.ToString(), sha, source, time.GetUtcNow(), report.Rows, report.UsableRows, report.Bytes,
            reportPath.ToString(), profilePath.ToString(), schemaPath.ToString(), runId), ct).ConfigureAwait(false);
        LogAccepted(logger, model, source, report.UsableRows, report.Warnings.Count);
        var outcome = new ValidationOutcome(true, [], reportPath.ToString(),
            new DatasetRef(dataset.ToString(), sha, report.UsableRows, schemaPath.ToString(), profilePath.ToString(), reportPath.ToString()),
            report.Warnings);
        return (outcome, report);
    }

    /// <summary>The production version's schema and training profile, which new data is checked against.</summary>
    private async Task<Reference?> ReferenceAsync(string model, CancellationToken ct)
    {
        if ((await registry.GetSlotsAsync(model, ct).ConfigureAwait(false)).Production is not { } production ||
            await registry.GetVersionAsync(model, production, ct).ConfigureAwait(false) is not { } record)
        {
            return null;
        }

        var schema = record.Schema ?? (record.SchemaBlob is { } s
            ? await blobs.ReadJsonAsync<DatasetSchema>(BlobPath.Parse(s), record.SchemaSha256, ct).ConfigureAwait(false)
            : null);
        var profile = record.ProfileBlob is { } p
            ? await blobs.ReadJsonAsync<DataProfile>(BlobPath.Parse(p), record.ProfileSha256, ct).ConfigureAwait(false)
            : null;
        return new Reference(production, schema, profile);
    }

    private async Task<ValidationOutcome> RejectAsync(string model, BlobPath source, Azure.ETag etag, ValidationReport report, CancellationToken ct)
    {
        var rejected = new BlobPath(BlobPath.Rejected, $"{model}/{RelativeName(source, model)}");
        var reportPath = rejected with { Name = rejected.Name + ".report.json" };
        if (source.Container != BlobPath.Rejected)
        {
            await blobs.CopyAsync(source, rejected, etag, ct: ct).ConfigureAwait(false);
        }

        await blobs.UploadJsonAsync(reportPath, report, ct).ConfigureAwait(false);
        LogRejected(logger, model, source.ToString(), report.Errors.Count, report.Errors[0]);
        return new ValidationOutcome(false, report.Errors, reportPath.ToString(), Warnings: report.Warnings);
    }

    /// <summary>The file's name below the model folder (incoming/{model}/a/b.csv -> a/b.csv), or its last segment.</summary>
    private static string RelativeName(BlobPath source, string model) =>
        source.Name.StartsWith(model + "/", StringComparison.Ordinal) ? source.Name[(model.Length + 1)..] : source.FileName;

    private sealed record Reference(int Version, DatasetSchema? Schema, DataProfile? Profile);

    [LoggerMessage(Level = LogLevel.Information, Message = "Validating {Source} for {Model} ({Bytes} bytes) in a worker process")]
    private static partial void LogWorkerProcess(ILogger logger, string source, string model, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected {Source} for {Model}: {ErrorCount} error(s), first: {FirstError}")]
    private static partial void LogRejected(ILogger logger, string model, string source, int errorCount, string firstError);

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepted {Source} for {Model}: {Rows} usable rows, {WarningCount} warning(s)")]
    private static partial void LogAccepted(ILogger logger, string model, string source, long rows, int warningCount);
}
