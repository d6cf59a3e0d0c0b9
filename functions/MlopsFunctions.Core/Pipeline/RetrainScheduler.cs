using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;
using NCrontab;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// On every tick of the timer: expires datasets past their model's retention, and starts a retrain for every model whose retrainSchedule had an occurrence since its last scheduled run (kept in the
/// registry, so occurrences missed while the host was down run once at the next tick). A retrain that would repeat
/// training already done (same window, same spec) is recorded as skipped with the reason. One model's failure does
/// not stop the others. The run id is the occurrence, so two timers (or two instances) start it once.
/// </summary>
public sealed partial class RetrainScheduler(
    ModelRegistry registry, PipelineStarter starter, RetrainPolicy policy, DatasetRetention retention, IOptions<MlopsOptions> options,
    ILogger<RetrainScheduler> logger)
{
    public async Task<IReadOnlyList<StartResult>> StartDueAsync(DurableTaskClient client, DateTimeOffset now, CancellationToken ct = default)
    {
        var started = new List<StartResult>();
        foreach (var model in await registry.ListModelsAsync(ct).ConfigureAwait(false))
        {
            if (model.Spec?.Retention is not null)
            {
                try
                {
                    await retention.ExpireAsync(model.Name, model.Spec, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, ex, model.Name);
                }
            }

            if (model.Spec?.RetrainSchedule is not { } expression ||
                CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true }) is not { } schedule)
            {
                continue;
            }

            try
            {
                if (await TickAsync(client, model.Name, model.Spec, schedule, now, ct).ConfigureAwait(false) is { } result)
                {
                    started.Add(result);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex, model.Name);
            }
        }

        return started;
    }

    private async Task<StartResult?> TickAsync(DurableTaskClient client, string model, ModelSpec spec, CrontabSchedule schedule, DateTimeOffset now, CancellationToken ct)
    {
        // The first tick after a schedule is set looks back one minute; later ticks look back to the last one.
        var since = await registry.GetScheduleMarkAsync(model, ct).ConfigureAwait(false) ?? now.AddMinutes(-1);
        var occurrences = schedule.GetNextOccurrences(since.UtcDateTime, now.UtcDateTime.AddTicks(1)).ToList();
        if (occurrences.Count == 0)
        {
            return null;
        }

        var occurrence = new DateTimeOffset(DateTime.SpecifyKind(occurrences[^1], DateTimeKind.Utc));
        await registry.SetScheduleMarkAsync(model, occurrence, ct).ConfigureAwait(false);
        var runId = RunIds.ForSchedule(model, occurrence);
        if (await policy.WhyUnchangedAsync(model, spec, ct).ConfigureAwait(false) is { } reason)
        {
            await starter.RecordSkippedAsync(new RunRequest(runId, model, "schedule", "timer", [], now, options.Value.ApprovalTimeoutHours), reason, ct).ConfigureAwait(false);
            return null;
        }

        var (result, problem) = await starter.StartRetrainAsync(client, model, "schedule", runId, "timer", force: false, ct: ct).ConfigureAwait(false);
        if (problem is not null)
        {
            await starter.RecordSkippedAsync(new RunRequest(runId, model, "schedule", "timer", [], now, options.Value.ApprovalTimeoutHours), problem.Message, ct).ConfigureAwait(false);
            return null;
        }

        return result;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The timer's work on {Model} failed; the other models go on")]
    private static partial void LogFailed(ILogger logger, Exception exception, string model);
}

/// <summary>Whether retraining a model now would repeat training already done: the same window of data under the same spec.</summary>
public sealed class RetrainPolicy(ModelRegistry registry, TrainingWindows windows)
{
    public async Task<string?> WhyUnchangedAsync(string model, ModelSpec spec, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var window = await windows.SelectAsync(model, spec, [], ct).ConfigureAwait(false);
        if (window.Count == 0)
        {
            return $"no accepted data in the window ({spec.Window})";
        }

        var hashes = window.Select(d => d.Sha256).Order(StringComparer.Ordinal).ToList();
        var specSha = PrepareTrainingActivity.SpecSha256(spec);
        foreach (var version in await registry.ListVersionsAsync(model, ct).ConfigureAwait(false))
        {
            var trained = (version.Lineage.Datasets?.Select(d => d.Sha256) ?? [version.Lineage.DatasetSha256]).Order(StringComparer.Ordinal);
            var sameSpec = (version.Lineage.SpecSha256 ?? PrepareTrainingActivity.SpecSha256(version.Lineage.Spec)) == specSha;
            if (sameSpec && trained.SequenceEqual(hashes))
            {
                // A failure is not a verdict on the data: it is worth another try. Anything else is.
                return version.Status == VersionStatus.Failed
                    ? null
                    : $"no new data since v{version.Version} ({version.Status}): the window and the spec are unchanged";
            }
        }

        return null;
    }
}
