using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;

namespace MlopsFunctions.Functions;

/// <summary>Every minute, starts the retrains whose spec retrainSchedule came due since the last tick.</summary>
public sealed class RetrainTimerFunction(RetrainScheduler scheduler)
{
    public const string Schedule = "0 * * * * *";

    [Function("RetrainTimer")]
    [Role(Roles.Pipeline)]
    public async Task Run(
        [TimerTrigger(Schedule)] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(timer);
        DateTimeOffset? last = timer.ScheduleStatus?.Last is { } l && l != default ? new DateTimeOffset(DateTime.SpecifyKind(l, DateTimeKind.Utc)) : null;
        await scheduler.StartDueAsync(client, last, DateTimeOffset.UtcNow, ct).ConfigureAwait(false);
    }
}
