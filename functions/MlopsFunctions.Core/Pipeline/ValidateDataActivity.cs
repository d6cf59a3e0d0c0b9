using System.Security.Cryptography;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Checks a file against its model's spec. Accepted data is stored content-addressed under datasets/ (lineage points
/// there); rejected data is copied to rejected/{model}/ beside a report that says what to fix.
/// </summary>
public sealed partial class ValidateDataActivity(
    BlobStore blobs, ModelRegistry registry, IOptions<MlopsOptions> options, ILogger<ValidateDataActivity> logger)
    : TaskActivity<ValidateInput, ValidationOutcome>
{
    public override async Task<ValidationOutcome> RunAsync(TaskActivityContext context, ValidateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var source = BlobPath.Parse(input.Source);
        var content = await blobs.TryDownloadAsync(source).ConfigureAwait(false);
        if (content is null)
        {
            return new ValidationOutcome(false, [$"The file {source} was deleted before it could be read."], input.Source);
        }

        var spec = await registry.GetSpecAsync(input.Model).ConfigureAwait(false);
        var bytes = content.ToMemory();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes.Span));
        ValidationReport report;
        CsvTable? table = null;
        if (spec is null)
        {
            report = Rejected(input, sha, $"Model '{input.Model}' has no spec: define it with PUT /api/models/{input.Model}, then upload the file again.");
        }
        else if (bytes.Span.Contains((byte)0))
        {
            report = Rejected(input, sha, "The file is binary, not CSV text: upload comma-separated UTF-8 text with a header row.");
        }
        else
        {
            (report, table) = DatasetValidator.Validate(input.Model, input.Source, content.ToString(), spec, options.Value.MinRows);
            report = report with { Sha256 = sha };
        }

        if (!report.Accepted || table is null)
        {
            var rejected = new BlobPath(BlobPath.Rejected, $"{input.Model}/{RelativeName(source, input.Model)}");
            var reportPath = rejected with { Name = rejected.Name + ".report.json" };
            if (source.Container != BlobPath.Rejected)
            {
                await blobs.UploadAsync(rejected, content).ConfigureAwait(false);
            }

            await blobs.UploadJsonAsync(reportPath, report).ConfigureAwait(false);
            LogRejected(logger, input.Model, input.Source, report.Errors.Count, report.Errors[0]);
            return new ValidationOutcome(false, report.Errors, reportPath.ToString());
        }

        var dataset = BlobPath.Dataset(input.Model, sha);
        var datasetReport = dataset with { Name = $"{input.Model}/{sha}.report.json" };
        await blobs.UploadAsync(dataset, content, overwrite: false, "text/csv").ConfigureAwait(false);
        await blobs.UploadJsonAsync(datasetReport, report).ConfigureAwait(false);
        await registry.SetLatestDatasetAsync(input.Model, dataset.ToString()).ConfigureAwait(false);
        LogAccepted(logger, input.Model, input.Source, report.UsableRows, report.Warnings.Count);
        return new ValidationOutcome(true, [], datasetReport.ToString(), dataset.ToString(), sha, report.Schema, spec,
            new ValidationSummary(report.Rows, report.UsableRows, report.Warnings, datasetReport.ToString()));
    }

    private static ValidationReport Rejected(ValidateInput input, string sha, string error) => new()
    {
        Model = input.Model, Source = input.Source, Accepted = false, Errors = [error], Sha256 = sha,
    };

    /// <summary>The file's name below the model folder (incoming/{model}/a/b.csv -> a/b.csv), or its last segment.</summary>
    private static string RelativeName(BlobPath source, string model) =>
        source.Name.StartsWith(model + "/", StringComparison.Ordinal) ? source.Name[(model.Length + 1)..] : source.FileName;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected {Source} for {Model}: {ErrorCount} error(s), first: {FirstError}")]
    private static partial void LogRejected(ILogger logger, string model, string source, int errorCount, string firstError);

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepted {Source} for {Model}: {Rows} usable rows, {WarningCount} warning(s)")]
    private static partial void LogAccepted(ILogger logger, string model, string source, int rows, int warningCount);
}
