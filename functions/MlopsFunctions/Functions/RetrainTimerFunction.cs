using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;

namespace MlopsFunctions.Functions;

/// <summary>Every minute, starts the retrains whose spec retrainSchedule came due (missed occurrences included) and records the skipped ones.</summary>
public sealed class RetrainTimerFunction(RetrainScheduler scheduler, TimeProvider time)
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
        await scheduler.StartDueAsync(client, time.GetUtcNow(), ct).ConfigureAwait(false);
    }
}
