using System.Security.Cryptography;
using System.Text;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Decides what a run trains on (its window of accepted datasets under the spec's trainOn), or that there is nothing
/// new to train on; reserves the run's version with its lineage, stores the version's data schema and training
/// profile beside it, and lists the candidates.
/// </summary>
public sealed partial class PrepareTrainingActivity(
    BlobStore blobs, ModelRegistry registry, RunStore runs, TrainingWindows windows, RetrainPolicy policy, IOptions<MlopsOptions> options,
    ILogger<PrepareTrainingActivity> logger)
    : TaskActivity<PrepareInput, TrainingPlan>
{
    public override async Task<TrainingPlan> RunAsync(TaskActivityContext context, PrepareInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return await RunCoreAsync(input).ConfigureAwait(false);
    }

    private async Task<TrainingPlan> RunCoreAsync(PrepareInput input)
    {
        var request = input.Request;
        var model = request.Model;
        var settings = options.Value;
        var spec = await registry.GetSpecAsync(model).ConfigureAwait(false);
        TrainingPlan Skip(string why) => new(model, request.RunId, null, [], null, spec ?? new ModelSpec(), settings.Seed,
            settings.HoldoutFraction, settings.ValidationFraction, 0, [], why);
        if (spec is null)
        {
            return Skip($"model '{model}' has no spec");
        }

        var (seed, holdout, validationFraction) = (settings.Seed, settings.HoldoutFraction, settings.ValidationFraction);
        WindowData window;
        if (request.ReplayOf is { } replayed)
        {
            // Reproduce a version: its datasets, its spec, its seed and split, whatever the settings and spec are now.
            if (await registry.GetVersionAsync(model, replayed).ConfigureAwait(false) is not { } original)
            {
                return Skip($"model '{model}' has no version {replayed} to replay");
            }

            var (datasets, missing) = await windows.OfVersionAsync(model, original).ConfigureAwait(false);
            if (missing is not null)
            {
                return Skip($"v{replayed} trained on dataset {missing}, which no longer exists (retention): it cannot be replayed");
            }

            (spec, seed, holdout) = (original.Lineage.Spec, original.Lineage.Seed, original.Lineage.HoldoutFraction);
            validationFraction = original.Lineage.ValidationFraction > 0 ? original.Lineage.ValidationFraction : validationFraction;
            window = await windows.DescribeAsync(datasets, seed).ConfigureAwait(false);
        }
        else
        {
            window = await windows.ResolveAsync(model, spec, input.Accepted).ConfigureAwait(false);
        }

        if (window.Datasets.Count == 0)
        {
            return Skip($"model '{model}' has no accepted data in its window ({spec.Window})");
        }

        var specSha = SpecSha256(spec);
        if (!request.Force && request.ReplayOf is null && request.Sources.Count == 0 && await policy.WhyUnchangedAsync(model, spec).ConfigureAwait(false) is { } why)
        {
            LogSkipped(logger, model, request.RunId, why);
            return Skip(why);
        }

        var newest = window.Datasets[^1];
        var lineage = new Lineage(
            request.Sources.Count > 0 ? string.Join(", ", request.Sources) : $"window {spec.Window}",
            newest.Dataset, newest.Sha256, request.ReplayOf is { } r ? $"replay of v{r}" : request.Trigger, spec, seed, holdout)
        {
            ValidationFraction = validationFraction,
            Datasets = window.Uses,
            SpecSha256 = specSha,
            Window = spec.Window.ToString(),
            AppVersion = StorageHealth.AppVersion,
            MlNetVersion = StartRunActivity.MlNetVersion,
        };
        var created = DateTimeOffset.UtcNow;
        var version = await registry.ReserveVersionAsync(model, v => new ModelVersion
        {
            Version = v,
            Status = VersionStatus.Training,
            RunId = request.RunId,
            InstanceId = input.InstanceId,
            CreatedAt = created,
            Lineage = lineage,
        }, request.RunId).ConfigureAwait(false);

        // The data schema the candidates train against, and the profile of the data: the version's drift baseline.
        var schemaBlob = BlobPath.ModelFile(model, version, "data-schema.json");
        var profileBlob = BlobPath.ModelFile(model, version, "profile.json");
        await blobs.UploadJsonAsync(schemaBlob, window.Schema).ConfigureAwait(false);
        var profileSha = await blobs.UploadJsonWithHashAsync(profileBlob, window.Profile).ConfigureAwait(false);
        var record = await registry.GetVersionAsync(model, version).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Version {version} of '{model}' vanished from the registry.");
        var validation = await blobs.ReadJsonAsync<ValidationReport>(BlobPath.Parse(newest.Report)).ConfigureAwait(false);
        await registry.UpdateVersionAsync(model, record with
        {
            ProfileBlob = profileBlob.ToString(),
            ProfileSha256 = profileSha,
            Validation = new ValidationSummary(validation.Rows, validation.UsableRows, validation.Warnings.Take(20).ToList(), newest.Report),
            UpdatedAt = DateTimeOffset.UtcNow,
        }).ConfigureAwait(false);

        var candidates = TrainerCatalog.Candidates(spec.TaskType, spec.Trainers);
        var trainRows = (long)(window.Rows * (1 - holdout - validationFraction));
        await runs.UpdateAsync(model, request.RunId, r => r with
        {
            Stage = Stages.Training,
            Version = version,
            Datasets = window.Uses,
            Window = spec.Window.ToString(),
            CandidatesTotal = candidates.Count,
            SpecSha256 = specSha,
        }).ConfigureAwait(false);
        return new TrainingPlan(model, request.RunId, version, window.Datasets, schemaBlob.ToString(), spec, seed,
            holdout, validationFraction, Math.Max(trainRows, 1), candidates);
    }

    public static string SpecSha256(ModelSpec spec) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Json.Serialize(spec))));

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} of {Model} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string model, string runId, string reason);
}
