using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Registry;
using NCrontab;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Starts a retrain for every model whose retrainSchedule had an occurrence since the timer last ran. The run id is
/// the occurrence, so a timer that fires twice (or two instances) starts it once.
/// </summary>
public sealed partial class RetrainScheduler(ModelRegistry registry, PipelineStarter starter, ILogger<RetrainScheduler> logger)
{
    public async Task<IReadOnlyList<StartResult>> StartDueAsync(
        DurableTaskClient client, DateTimeOffset? lastRun, DateTimeOffset now, CancellationToken ct = default)
    {
        var since = lastRun ?? now.AddMinutes(-1);
        var started = new List<StartResult>();
        foreach (var model in await registry.ListModelsAsync(ct).ConfigureAwait(false))
        {
            if (model.Spec?.RetrainSchedule is not { } expression)
            {
                continue;
            }

            var schedule = CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
            if (schedule is null)
            {
                continue;
            }

            // NCrontab works on unspecified DateTime; everything here is UTC. The end bound is exclusive.
            var occurrences = schedule.GetNextOccurrences(since.UtcDateTime, now.UtcDateTime.AddTicks(1)).ToList();
            if (occurrences.Count == 0)
            {
                continue;
            }

            if (await UnchangedAsync(model, ct).ConfigureAwait(false))
            {
                LogSkipped(logger, model.Name, "production was trained on the latest data with the current spec");
                continue;
            }

            var occurrence = new DateTimeOffset(DateTime.SpecifyKind(occurrences[^1], DateTimeKind.Utc));
            var (result, problem) = await starter.StartRetrainAsync(
                client, model.Name, "schedule", RunIds.ForSchedule(model.Name, occurrence), "timer", ct).ConfigureAwait(false);
            if (problem is not null)
            {
                LogSkipped(logger, model.Name, problem.Message);
                continue;
            }

            started.Add(result!);
        }

        return started;
    }

    /// <summary>True when production already learned from the latest dataset under the same spec: retraining would repeat it.</summary>
    private async Task<bool> UnchangedAsync(ModelSummary model, CancellationToken ct)
    {
        if (model.Slots.Production is not { } production)
        {
            return false;
        }

        var latest = await registry.GetLatestDatasetAsync(model.Name, ct).ConfigureAwait(false);
        var version = await registry.GetVersionAsync(model.Name, production, ct).ConfigureAwait(false);
        return version is not null && latest == version.Lineage.Dataset &&
               Json.Serialize(version.Lineage.Spec) == Json.Serialize(model.Spec);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled retrain of {Model} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string model, string reason);
}
