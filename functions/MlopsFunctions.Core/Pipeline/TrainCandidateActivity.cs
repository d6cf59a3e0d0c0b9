using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Trains one candidate of a run on local copies of the window's datasets (in a child process for large windows, see
/// <see cref="TrainerProcess"/>) and stores it beside the version. A candidate whose training fails is reported with
/// its error, not thrown: one bad trainer does not fail the run. Storage failures and a trainer process that died are
/// thrown, so the durable retry policy tries again.
/// </summary>
public sealed partial class TrainCandidateActivity(
    BlobStore blobs, DatasetFiles files, RunStore runs, IOptions<MlopsOptions> options, ILogger<TrainCandidateActivity> logger)
    : TaskActivity<CandidateInput, CandidateOutcome>
{
    public override async Task<CandidateOutcome> RunAsync(TaskActivityContext context, CandidateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var plan = input.Plan;
        var candidate = input.Candidate;
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var local = new List<string>();
        foreach (var dataset in plan.Datasets)
        {
            local.Add(await files.GetAsync(dataset.Dataset, dataset.Sha256).ConfigureAwait(false));
        }

        var schema = await blobs.ReadJsonAsync<DatasetSchema>(BlobPath.Parse(plan.SchemaBlob!)).ConfigureAwait(false);
        var metric = MetricCatalog.Primary(plan.Spec).Name;
        var settings = options.Value;
        CandidateOutcome outcome;
        try
        {
            var job = new TrainingJob(local, schema, candidate, plan.Split, plan.TrainRowsHint, settings.EffectiveTrainerThreads(), CsvLimits.From(settings));
            var trained = await TrainAsync(job, settings).ConfigureAwait(false);
            var folder = $"candidates/{candidate.Name}";
            var modelBlob = BlobPath.ModelFile(plan.Model, plan.Version!.Value, folder + ".zip");
            var schemaBlob = BlobPath.ModelFile(plan.Model, plan.Version.Value, folder + ".schema.json");
            await blobs.UploadAsync(modelBlob, BinaryData.FromBytes(trained.ModelZip), true, "application/zip").ConfigureAwait(false);
            await blobs.UploadJsonAsync(schemaBlob, trained.Schema).ConfigureAwait(false);
            var value = trained.ValidationMetrics.TryGetValue(metric, out var v) ? v : (double?)null;
            outcome = new CandidateOutcome(
                new CandidateResult(candidate.Name, candidate.Trainer, candidate.Parameters, trained.ValidationMetrics, value,
                    trained.TrainRows, trained.ValidationRows, Math.Round(trained.FitSeconds, 3), Math.Round(clock.Elapsed.TotalSeconds, 3), null)
                {
                    StartedAt = started,
                    FitStartedAt = trained.FitStartedAt,
                },
                modelBlob.ToString(), trained.Sha256, schemaBlob.ToString());
            LogTrained(logger, plan.Model, plan.Version.Value, candidate.Name, trained.TrainRows, trained.FitSeconds, metric, value);
        }
        catch (TrainerDiedException ex)
        {
            LogTrainerDied(logger, plan.Model, candidate.Name, ex.Message);
            throw; // the durable retry policy trains it again in a new process
        }
#pragma warning disable CA1031 // A trainer's failure is this candidate's result, reported to the run; storage errors are not caught here.
        catch (Exception ex) when (ex is not (OutOfMemoryException or Azure.RequestFailedException or OperationCanceledException or TrainerDiedException))
#pragma warning restore CA1031
        {
            LogFailed(logger, ex, plan.Model, candidate.Name);
            outcome = new CandidateOutcome(
                new CandidateResult(candidate.Name, candidate.Trainer, candidate.Parameters, null, null, 0, 0, 0,
                    Math.Round(clock.Elapsed.TotalSeconds, 3), $"{ex.GetType().Name}: {ex.Message}")
                {
                    StartedAt = started,
                },
                null, null, null);
        }

        await runs.UpdateAsync(plan.Model, plan.RunId, r =>
        {
            var results = (r.Candidates ?? []).Where(c => c.Name != candidate.Name).Append(outcome.Result).ToList();
            return r with { Candidates = results, CandidatesDone = results.Count };
        }).ConfigureAwait(false);
        return outcome;
    }

    private static async Task<TrainedCandidate> TrainAsync(TrainingJob job, MlopsOptions settings)
    {
        var workers = WorkerSettings.From(settings);
        if (settings.Isolates(job.TrainRowsHint > settings.TrainerProcessRows))
        {
            return await TrainerProcess.TrainAsync(job, workers).ConfigureAwait(false);
        }

        // In process, the fit gets a thread of its own: blocking a pool thread for seconds starves ML.NET's own tasks
        // (cursors, loaders) and the host's requests until the pool injects threads, which made fits run several
        // times slower inside the host than the same fit alone. Spares still warming up stop for it (see WorkerPool).
        using var busy = WorkerPool.Busy(workers, worker: false);
        return await Task.Factory.StartNew(() => CandidateTrainer.Train(job), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained {Model} v{Version} candidate {Candidate} on {Rows} rows in {FitSeconds:0.00} s: {Metric} = {Value} on validation rows")]
    private static partial void LogTrained(ILogger logger, string model, int version, string candidate, long rows, double fitSeconds, string metric, double? value);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Candidate {Candidate} of {Model}: {Reason}; the activity fails and is retried")]
    private static partial void LogTrainerDied(ILogger logger, string model, string candidate, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Candidate {Candidate} of {Model} failed to train")]
    private static partial void LogFailed(ILogger logger, Exception exception, string model, string candidate);
}
