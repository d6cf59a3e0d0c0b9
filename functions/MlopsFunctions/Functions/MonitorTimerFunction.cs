using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Monitoring;

namespace MlopsFunctions.Functions;

/// <summary>
/// Every 5 seconds, checks the models whose monitoring.schedule came due (drift, feedback, live metric, retrains). A
/// tick with nothing due reads no storage, so the per-model schedule, not this timer, sets the monitoring cost.
/// </summary>
public sealed class MonitorTimerFunction(MonitorScheduler scheduler, TimeProvider time)
{
    public const string Schedule = "*/5 * * * * *";

    [Function("MonitorTimer")]
    [Role(Roles.Pipeline)]
    public async Task Run(
        [TimerTrigger(Schedule)] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(timer);
        await scheduler.TickAsync(client, time.GetUtcNow(), ct).ConfigureAwait(false);
    }
}
