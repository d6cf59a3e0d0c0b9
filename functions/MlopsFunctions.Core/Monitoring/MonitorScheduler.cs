using System.Collections.Concurrent;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;
using NCrontab;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// On every tick of the monitor timer, checks each model in production whose monitoring.schedule (default every 15
/// minutes) had an occurrence since its last check. Ticks are cheap when nothing is due: the model list is re-read
/// every Mlops__MonitorListSeconds (default 30 s) and the last checks are kept in memory (seeded from each model's state, so a restart catches up once).
/// One model's failure does not stop the others; overlapping ticks are skipped.
/// </summary>
public sealed partial class MonitorScheduler(ModelRegistry registry, ModelMonitor monitor, IOptions<MlopsOptions> options, ILogger<MonitorScheduler> logger)
{
    public const string DefaultSchedule = "0 */15 * * * *";

    private readonly TimeSpan listInterval = TimeSpan.FromSeconds(options.Value.MonitorListSeconds);

    private int ticking;
    private readonly ConcurrentDictionary<string, DateTimeOffset> lastChecks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CrontabSchedule?> schedules = new(StringComparer.Ordinal);
    private IReadOnlyList<ModelSummary> models = [];
    private DateTimeOffset listedAt = DateTimeOffset.MinValue;

    /// <summary>Checks the models that are due; returns how many were checked.</summary>
    public async Task<int> TickAsync(DurableTaskClient client, DateTimeOffset now, CancellationToken ct = default)
    {
        if (Interlocked.Exchange(ref ticking, 1) == 1)
        {
            return 0; // the previous tick is still checking
        }

        try
        {
            if (now - listedAt >= listInterval)
            {
                models = await registry.ListModelsAsync(ct).ConfigureAwait(false);
                listedAt = now;
            }

            var checkedModels = 0;
            foreach (var model in models.Where(m => m.Spec is not null && m.Slots.Production is not null))
            {
                try
                {
                    if (!await IsDueAsync(model, now, ct).ConfigureAwait(false))
                    {
                        continue;
                    }

                    lastChecks[model.Name] = now;
                    await monitor.CheckAsync(client, model.Name, ct).ConfigureAwait(false);
                    checkedModels++;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, ex, model.Name);
                }
            }

            return checkedModels;
        }
        finally
        {
            Volatile.Write(ref ticking, 0);
        }
    }

    private async Task<bool> IsDueAsync(ModelSummary model, DateTimeOffset now, CancellationToken ct)
    {
        var expression = model.Spec!.Monitoring?.Schedule ?? DefaultSchedule;
        var schedule = schedules.GetOrAdd(expression, static e => CrontabSchedule.TryParse(e, new CrontabSchedule.ParseOptions { IncludingSeconds = true }));
        if (schedule is null)
        {
            return false; // the spec parser refuses such a schedule; an old spec may still hold one
        }

        if (!lastChecks.TryGetValue(model.Name, out var last))
        {
            last = (await monitor.ReadStateAsync(model.Name, ct).ConfigureAwait(false))?.LastCheck ?? now;
            lastChecks[model.Name] = last;
        }

        return schedule.GetNextOccurrence(last.UtcDateTime) <= now.UtcDateTime;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The monitor's check of {Model} failed; the other models go on")]
    private static partial void LogFailed(ILogger logger, Exception exception, string model);
}
