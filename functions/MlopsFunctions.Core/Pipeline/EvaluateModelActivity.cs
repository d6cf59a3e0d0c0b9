using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Scores the chosen candidate on the window's holdout rows and, when production has a model, the champion on the
/// very same rows with a paired bootstrap interval of the difference; then applies the spec's gates.
/// </summary>
public sealed partial class EvaluateModelActivity(
    BlobStore blobs, DatasetFiles files, ModelRegistry registry, ModelStore store, RunStore runs, IOptions<MlopsOptions> options,
    ILogger<EvaluateModelActivity> logger)
    : TaskActivity<EvaluateInput, EvaluationOutcome>
{
    public override async Task<EvaluationOutcome> RunAsync(TaskActivityContext context, EvaluateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return await RunCoreAsync(input).ConfigureAwait(false);
    }

    private async Task<EvaluationOutcome> RunCoreAsync(EvaluateInput input)
    {
        var plan = input.Plan;
        var chosen = input.Chosen;
        await runs.UpdateAsync(plan.Model, plan.RunId, r => r with { Stage = Stages.Evaluating, Chosen = chosen.Result.Name }).ConfigureAwait(false);
        var local = new List<string>();
        foreach (var dataset in plan.Datasets)
        {
            local.Add(await files.GetAsync(dataset.Dataset, dataset.Sha256).ConfigureAwait(false));
        }

        var settings = options.Value;
        var limits = CsvLimits.From(settings);
        // The two models download at once; neither needs the other.
        var championRead = ChampionAsync(plan);
        var schema = await blobs.ReadJsonAsync<DatasetSchema>(BlobPath.Parse(chosen.SchemaBlob!)).ConfigureAwait(false);
        var candidate = await store.ReadModelAsync(plan.Model, plan.Version!.Value, chosen.ModelBlob!, chosen.ModelSha256!).ConfigureAwait(false);
        var (champion, championSchema, championVersion, unavailable) = await championRead.ConfigureAwait(false);
        var header = CsvSource.HeaderOf(local[^1], limits);
        var workers = WorkerSettings.From(settings);
        EvaluationResult result;
        if (settings.Isolates(plan.TrainRowsHint > settings.TrainerProcessRows))
        {
            // A window large enough to train in a child is evaluated in one too (see EvaluatorProcess).
            var job = new EvaluatorJob(local, schema, championSchema, championVersion, plan.Spec, plan.Split, limits, header);
            result = await EvaluatorProcess.EvaluateAsync(job, candidate, champion, workers).ConfigureAwait(false);
        }
        else
        {
            // Spares start warming up only after this: on two cores they would take CPU from the scoring threads.
            using var busy = WorkerPool.Busy(workers, worker: false);
            var championModel = champion is null ? null : new ScoringModel(ModelStore.Load(champion), championSchema!);
            result = Evaluator.Evaluate(local, new ScoringModel(ModelStore.Load(candidate), schema), championModel, championVersion, plan.Spec, plan.Split, limits, header);
        }

        var comparison = result.Comparison ?? (unavailable is not null ? new Comparison(championVersion!.Value, null, unavailable, result.HoldoutRows) : null);
        var metric = MetricCatalog.Primary(plan.Spec);
        var value = result.Metrics.TryGetValue(metric.Name, out var v) ? v : double.NaN;
        var gates = Gates.Decide(plan.Spec, value, comparison);
        var decision = gates.TrueForAll(g => g.Passed) ? EvaluationOutcome.Pass
            : gates.Exists(g => !g.Passed && !g.Undecided) ? EvaluationOutcome.Fail
            : EvaluationOutcome.Undecided;
        LogEvaluated(logger, plan.Model, plan.Version.Value, metric.Name, value, championVersion, decision, result.HoldoutRows);
        return new EvaluationOutcome(metric.Name, value, result.Metrics, gates, decision, championVersion, result.ChampionMetrics, result.HoldoutRows);
    }

    /// <summary>Production's verified model bytes and schema and its version, or why it cannot be compared (which makes the comparison fail closed).</summary>
    private async Task<(byte[]? ModelZip, DatasetSchema? Schema, int? Version, string? Unavailable)> ChampionAsync(TrainingPlan plan)
    {
        var slots = await registry.GetSlotsAsync(plan.Model).ConfigureAwait(false);
        if (slots.Production is not { } production || production == plan.Version)
        {
            return (null, null, null, null);
        }

        var record = await registry.GetVersionAsync(plan.Model, production).ConfigureAwait(false);
        if (record is null)
        {
            return (null, null, production, "it is not in the registry");
        }

        try
        {
            var (model, schema) = await store.ReadAsync(plan.Model, record).ConfigureAwait(false);
            return (model, schema, production, null);
        }
        catch (ModelUnavailableException ex)
        {
            return (null, null, production, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Evaluated {Model} v{Version}: {Metric} = {Value} (champion v{Champion}) on {Rows} holdout rows: {Decision}")]
    private static partial void LogEvaluated(ILogger logger, string model, int version, string metric, double value, int? champion, string decision, int rows);
}
