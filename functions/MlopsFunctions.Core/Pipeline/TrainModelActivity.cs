using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>Reserves the run's version number, trains on the training rows and stores model.zip with its hash.</summary>
public sealed partial class TrainModelActivity(
    BlobStore blobs, ModelRegistry registry, ModelStore store, IOptions<MlopsOptions> options, ILogger<TrainModelActivity> logger)
    : TaskActivity<TrainInput, TrainOutcome>
{
    public override async Task<TrainOutcome> RunAsync(TaskActivityContext context, TrainInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var settings = options.Value;
        var lineage = new Lineage(input.Source, input.Dataset, input.DatasetSha256, input.Trigger, input.Spec, settings.Seed, settings.HoldoutFraction);
        var created = DateTimeOffset.UtcNow;
        var version = await registry.ReserveVersionAsync(input.Model, v => new ModelVersion
        {
            Version = v,
            Status = VersionStatus.Training,
            RunId = input.RunId,
            CreatedAt = created,
            Schema = input.Schema,
            Lineage = lineage,
            Validation = input.Validation,
        }, input.RunId).ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        var (table, split) = await TrainingData.LoadAsync(blobs, input.Dataset, input.Schema, settings.HoldoutFraction, settings.Seed).ConfigureAwait(false);
        var trained = ModelTrainer.Train(table, input.Schema, split, settings.Seed);
        var modelBlob = await store.SaveAsync(input.Model, version, trained.ModelZip).ConfigureAwait(false);

        var record = await registry.GetVersionAsync(input.Model, version).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Version {version} of '{input.Model}' vanished from the registry.");
        await registry.UpdateVersionAsync(input.Model, record with
        {
            ModelBlob = modelBlob,
            ModelSha256 = trained.Sha256,
            Trainer = trained.Trainer,
            TrainRows = split.Train.Count,
            HoldoutRows = split.Holdout.Count,
            Schema = trained.Schema,
            UpdatedAt = DateTimeOffset.UtcNow,
        }).ConfigureAwait(false);
        LogTrained(logger, input.Model, version, trained.Trainer, split.Train.Count, clock.ElapsedMilliseconds);
        return new TrainOutcome(version, modelBlob, trained.Sha256, trained.Trainer, split.Train.Count, split.Holdout.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained {Model} v{Version} with {Trainer} on {Rows} rows in {ElapsedMs} ms")]
    private static partial void LogTrained(ILogger logger, string model, int version, string trainer, int rows, long elapsedMs);
}
