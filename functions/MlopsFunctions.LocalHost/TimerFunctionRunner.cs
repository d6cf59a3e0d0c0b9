using Microsoft.Azure.Functions.Worker;
using NCrontab;

namespace MlopsFunctions.LocalHost;

/// <summary>LocalHost's timer trigger: calls the app's timer function at each occurrence of its NCRONTAB schedule.</summary>
public sealed partial class TimerFunctionRunner(
    FunctionDescriptor function, IServiceProvider services, TimeProvider time, ILogger<TimerFunctionRunner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = CrontabSchedule.Parse(function.Timer!.Schedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
        DateTime? last = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var next = schedule.GetNextOccurrence(now);
            await Task.Delay(next - now, time, stoppingToken).ConfigureAwait(false);
            var info = new TimerInfo
            {
                ScheduleStatus = new ScheduleStatus { Last = last ?? default, Next = schedule.GetNextOccurrence(next), LastUpdated = next },
                IsPastDue = false,
            };
            try
            {
                await FunctionInvoker.InvokeAsync(function, services, new Dictionary<string, object?> { ["timer"] = info }, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(logger, ex, function.Name);
            }

            last = next;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Timer function {Function} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string function);
}
