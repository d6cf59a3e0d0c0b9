using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Scores the candidate on its holdout rows and, when production has a model that can read them, the champion on
/// the very same rows; then applies the spec's gates.
/// </summary>
public sealed partial class EvaluateModelActivity(
    BlobStore blobs, ModelRegistry registry, ModelStore store, ILogger<EvaluateModelActivity> logger)
    : TaskActivity<EvaluateInput, EvaluationOutcome>
{
    public override async Task<EvaluationOutcome> RunAsync(TaskActivityContext context, EvaluateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var record = await registry.GetVersionAsync(input.Model, input.Version).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Version {input.Version} of '{input.Model}' is not registered.");
        var lineage = record.Lineage;
        var schema = record.Schema!;
        var (table, split) = await TrainingData.LoadAsync(blobs, lineage.Dataset, schema, lineage.HoldoutFraction, lineage.Seed).ConfigureAwait(false);

        var candidate = await store.LoadAsync(input.Model, record).ConfigureAwait(false);
        var metrics = HoldoutScorer.Score(candidate, schema, table, split.Holdout, lineage.Seed);
        var primary = MetricCatalog.Primary(lineage.Spec);
        var value = metrics[primary.Name];

        var slots = await registry.GetSlotsAsync(input.Model).ConfigureAwait(false);
        int? champion = slots.Production is { } p && p != input.Version ? p : null;
        Dictionary<string, double>? championMetrics = null;
        string? incomparable = null;
        if (champion is not null)
        {
            var championRecord = await registry.GetVersionAsync(input.Model, champion.Value).ConfigureAwait(false);
            incomparable = championRecord?.Schema is null
                ? "it is not in the registry"
                : HoldoutScorer.Incomparable(championRecord.Schema, schema, table);
            if (incomparable is null)
            {
                var championModel = await store.LoadAsync(input.Model, championRecord!).ConfigureAwait(false);
                championMetrics = HoldoutScorer.Score(championModel, championRecord!.Schema!, table, split.Holdout, lineage.Seed);
            }
        }

        var gates = Gates.Decide(lineage.Spec, value, championMetrics?[primary.Name], champion, incomparable);
        var passed = gates.TrueForAll(g => g.Passed);
        LogEvaluated(logger, input.Model, input.Version, primary.Name, value, champion, passed);
        return new EvaluationOutcome(primary.Name, value, metrics, gates, passed, champion, championMetrics);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Evaluated {Model} v{Version}: {Metric} = {Value} (champion v{Champion}); gates passed: {Passed}")]
    private static partial void LogEvaluated(ILogger logger, string model, int version, string metric, double value, int? champion, bool passed);
}
