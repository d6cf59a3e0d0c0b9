using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Checks one file against its model's spec and production's schema and training profile, streaming the blob once.
/// Accepted data is copied (server-side) to datasets/{model}/{sha256}.csv with its report, profile and schema, and
/// recorded in the model's dataset catalog; rejected data is copied to rejected/{model}/ beside a report that says
/// what to fix. Nothing is ever loaded whole into memory.
/// </summary>
public sealed partial class ValidateDataActivity(
    BlobStore blobs, ModelRegistry registry, RunStore runs, IOptions<MlopsOptions> options, TimeProvider time, ILogger<ValidateDataActivity> logger)
    : TaskActivity<ValidateInput, ValidationOutcome>
{
    public override async Task<ValidationOutcome> RunAsync(TaskActivityContext context, ValidateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await runs.UpdateAsync(input.Model, input.RunId, r => r with { Stage = Stages.Validating }).ConfigureAwait(false);
        var source = BlobPath.Parse(input.Source);
        var properties = await blobs.TryGetPropertiesAsync(source).ConfigureAwait(false);
        if (properties is null)
        {
            return new ValidationOutcome(false, [$"The file {source} was deleted before it could be read."], input.Source);
        }

        var spec = await registry.GetSpecAsync(input.Model).ConfigureAwait(false);
        var settings = options.Value;
        ValidationReport report;
        DataProfile? profile = null;
        if (spec is null)
        {
            report = new ValidationReport
            {
                Model = input.Model,
                Source = input.Source,
                Accepted = false,
                Anomalies = [new Anomaly(AnomalyCodes.NoSpec, Severity.Error, null,
                    $"Model '{input.Model}' has no spec: define it with PUT /api/models/{input.Model}, then upload the file again (or POST /api/models/{input.Model}/retrain with {{\"source\": \"{input.Source}\"}}).")],
                Bytes = properties.ContentLength,
            };
        }
        else
        {
            var reference = await ReferenceAsync(input.Model).ConfigureAwait(false);
            await using var stream = await blobs.OpenReadAsync(source, properties.ETag).ConfigureAwait(false);
            (report, profile) = DatasetValidator.Validate(stream, new ValidationContext
            {
                Model = input.Model,
                Source = input.Source,
                Spec = spec,
                Limits = CsvLimits.From(settings),
                MinRows = settings.MinRows,
                Seed = settings.Seed,
                Reference = reference?.Schema,
                ReferenceProfile = reference?.Profile,
                ReferenceVersion = reference?.Version,
            });
        }

        if (!report.Accepted || profile is null || report.Schema is null)
        {
            return await RejectAsync(input, source, properties.ETag, report).ConfigureAwait(false);
        }

        var sha = report.Sha256!;
        var dataset = BlobPath.Dataset(input.Model, sha);
        BlobPath Beside(string suffix) => dataset with { Name = $"{input.Model}/{sha}.{suffix}" };
        if (await blobs.TryGetPropertiesAsync(dataset).ConfigureAwait(false) is null)
        {
            await blobs.CopyAsync(source, dataset, properties.ETag, "text/csv").ConfigureAwait(false);
        }

        var reportPath = Beside("report.json");
        var profilePath = Beside("profile.json");
        var schemaPath = Beside("schema.json");
        await blobs.UploadJsonAsync(profilePath, profile).ConfigureAwait(false);
        await blobs.UploadJsonAsync(schemaPath, report.Schema).ConfigureAwait(false);
        await blobs.UploadJsonAsync(reportPath, report with { Profile = profilePath.ToString() }).ConfigureAwait(false);
        await registry.AddDatasetAsync(input.Model, new DatasetRecord(
            dataset.ToString(), sha, input.Source, time.GetUtcNow(), report.Rows, report.UsableRows, report.Bytes,
            reportPath.ToString(), profilePath.ToString(), schemaPath.ToString(), input.RunId)).ConfigureAwait(false);
        await runs.UpdateAsync(input.Model, input.RunId, r => r with { Reports = [.. r.Reports ?? [], reportPath.ToString()] }).ConfigureAwait(false);
        LogAccepted(logger, input.Model, input.Source, report.UsableRows, report.Warnings.Count);
        return new ValidationOutcome(true, [], reportPath.ToString(),
            new DatasetRef(dataset.ToString(), sha, report.UsableRows, schemaPath.ToString(), profilePath.ToString(), reportPath.ToString()),
            report.Warnings);
    }

    /// <summary>The production version's schema and training profile, which new data is checked against.</summary>
    private async Task<Reference?> ReferenceAsync(string model)
    {
        if ((await registry.GetSlotsAsync(model).ConfigureAwait(false)).Production is not { } production ||
            await registry.GetVersionAsync(model, production).ConfigureAwait(false) is not { } record)
        {
            return null;
        }

        var schema = record.Schema ?? (record.SchemaBlob is { } s
            ? await blobs.ReadJsonAsync<DatasetSchema>(BlobPath.Parse(s), record.SchemaSha256).ConfigureAwait(false)
            : null);
        var profile = record.ProfileBlob is { } p
            ? await blobs.ReadJsonAsync<DataProfile>(BlobPath.Parse(p), record.ProfileSha256).ConfigureAwait(false)
            : null;
        return new Reference(production, schema, profile);
    }

    private async Task<ValidationOutcome> RejectAsync(ValidateInput input, BlobPath source, Azure.ETag etag, ValidationReport report)
    {
        var rejected = new BlobPath(BlobPath.Rejected, $"{input.Model}/{RelativeName(source, input.Model)}");
        var reportPath = rejected with { Name = rejected.Name + ".report.json" };
        if (source.Container != BlobPath.Rejected)
        {
            await blobs.CopyAsync(source, rejected, etag).ConfigureAwait(false);
        }

        await blobs.UploadJsonAsync(reportPath, report).ConfigureAwait(false);
        await runs.UpdateAsync(input.Model, input.RunId, r => r with { Reports = [.. r.Reports ?? [], reportPath.ToString()] }).ConfigureAwait(false);
        LogRejected(logger, input.Model, input.Source, report.Errors.Count, report.Errors[0]);
        return new ValidationOutcome(false, report.Errors, reportPath.ToString(), Warnings: report.Warnings);
    }

    /// <summary>The file's name below the model folder (incoming/{model}/a/b.csv -> a/b.csv), or its last segment.</summary>
    private static string RelativeName(BlobPath source, string model) =>
        source.Name.StartsWith(model + "/", StringComparison.Ordinal) ? source.Name[(model.Length + 1)..] : source.FileName;

    private sealed record Reference(int Version, DatasetSchema? Schema, DataProfile? Profile);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected {Source} for {Model}: {ErrorCount} error(s), first: {FirstError}")]
    private static partial void LogRejected(ILogger logger, string model, string source, int errorCount, string firstError);

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepted {Source} for {Model}: {Rows} usable rows, {WarningCount} warning(s)")]
    private static partial void LogAccepted(ILogger logger, string model, string source, long rows, int warningCount);
}
