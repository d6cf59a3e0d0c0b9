using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Makes the chosen candidate the version: model.zip and schema.json beside it (hashes in the registry), the
/// evaluation with every candidate and gate decision, a sample of holdout rows the smoke test scores before any
/// swap, and the version's status and reason.
/// </summary>
public sealed class RegisterModelActivity(BlobStore blobs, DatasetFiles files, ModelRegistry registry, RunStore runs, IOptions<MlopsOptions> options)
    : TaskActivity<RegisterInput, string>
{
    public const int SampleRows = 20;

    public override async Task<string> RunAsync(TaskActivityContext context, RegisterInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return await RunCoreAsync(input).ConfigureAwait(false);
    }

    private async Task<string> RunCoreAsync(RegisterInput input)
    {
        var plan = input.Plan;
        var version = plan.Version!.Value;
        var chosen = input.Chosen;
        var evaluation = input.Evaluation;
        await runs.UpdateAsync(plan.Model, plan.RunId, r => r with { Stage = Stages.Registering }).ConfigureAwait(false);

        var bytes = await blobs.DownloadAsync(BlobPath.Parse(chosen.ModelBlob!)).ConfigureAwait(false);
        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes.ToMemory().Span)), chosen.ModelSha256, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Candidate {chosen.Result.Name} of '{plan.Model}' v{version} changed since it was trained.");
        }

        var modelBlob = BlobPath.ModelFile(plan.Model, version, ModelStore.ModelFile);
        await blobs.UploadAsync(modelBlob, bytes, true, "application/zip").ConfigureAwait(false);
        var schema = await blobs.ReadJsonAsync<DatasetSchema>(BlobPath.Parse(chosen.SchemaBlob!)).ConfigureAwait(false);
        var schemaBlob = BlobPath.ModelFile(plan.Model, version, ModelStore.SchemaFile);
        var schemaSha = await blobs.UploadJsonWithHashAsync(schemaBlob, schema).ConfigureAwait(false);
        var evaluationBlob = BlobPath.ModelFile(plan.Model, version, "evaluation.json");
        await blobs.UploadJsonAsync(evaluationBlob, new
        {
            evaluation,
            chosen = chosen.Result.Name,
            candidates = input.Candidates.Select(c => c.Result),
        }).ConfigureAwait(false);
        await WriteSampleAsync(plan, schema, BlobPath.ModelFile(plan.Model, version, "sample.jsonl")).ConfigureAwait(false);

        var record = await registry.GetVersionAsync(plan.Model, version).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Version {version} of '{plan.Model}' is not registered.");
        await registry.UpdateVersionAsync(plan.Model, record with
        {
            Status = input.Status,
            StatusReason = input.Reason,
            ModelBlob = modelBlob.ToString(),
            ModelSha256 = chosen.ModelSha256,
            SchemaBlob = schemaBlob.ToString(),
            SchemaSha256 = schemaSha,
            EvaluationBlob = evaluationBlob.ToString(),
            Trainer = chosen.Result.Name,
            TrainerParameters = chosen.Result.Parameters,
            TrainRows = chosen.Result.TrainRows,
            ValidationRows = chosen.Result.ValidationRows,
            HoldoutRows = evaluation.HoldoutRows,
            Metric = evaluation.Metric,
            MetricValue = double.IsFinite(evaluation.Value) ? evaluation.Value : null,
            Metrics = evaluation.Metrics,
            Gates = evaluation.Gates,
            Champion = evaluation.Champion,
            ChampionMetrics = evaluation.ChampionMetrics,
            UpdatedAt = DateTimeOffset.UtcNow,
        }).ConfigureAwait(false);
        await runs.UpdateAsync(plan.Model, plan.RunId, r => r with
        {
            Chosen = chosen.Result.Name,
            Metric = evaluation.Metric,
            Value = double.IsFinite(evaluation.Value) ? evaluation.Value : null,
        }).ConfigureAwait(false);
        return input.Status;
    }

    /// <summary>Up to <see cref="SampleRows"/> holdout rows as predict requests (JSON objects keyed by column name).</summary>
    private async Task WriteSampleAsync(TrainingPlan plan, DatasetSchema schema, BlobPath target)
    {
        var newest = plan.Datasets[^1];
        var path = await files.GetAsync(newest.Dataset, newest.Sha256).ConfigureAwait(false);
        var limits = CsvLimits.From(options.Value);
        var lines = new StringBuilder();
        await using (var stream = File.OpenRead(path))
        {
            using var csv = CsvSource.Open(stream, limits);
            var header = csv.Header.ToList();
            var columns = schema.Features.Select(f => (Name: f, Index: header.IndexOf(f))).Where(c => c.Index >= 0).ToList();
            var hashOrder = RowSplit.HashOrder(header);
            var hasher = new RowHasher(plan.Seed);
            var taken = 0;
            while (taken < SampleRows && csv.MoveNext())
            {
                var row = csv.Current;
                if (row.ColCount != header.Count || plan.Split.Of(hasher.Hash(row, hashOrder)) != Split.Holdout)
                {
                    continue;
                }

                var json = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (name, index) in columns)
                {
                    var cell = row[index].Span;
                    json[name] = Cells.IsMissing(cell) ? null : Cells.TryNumber(cell, out var number) ? number : cell.ToString();
                }

                lines.AppendLine(JsonSerializer.Serialize(json, Json.Options));
                taken++;
            }
        }

        await blobs.UploadAsync(target, BinaryData.FromString(lines.ToString()), true, "application/x-ndjson").ConfigureAwait(false);
    }
}
