using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MlopsFunctions.Core.Hosting;

/// <summary>
/// Starts a pipeline host's spare workers (see <see cref="WorkerPool"/>) once the host has started, so that its first
/// large upload meets a warm validator, trainers and evaluator as later ones do. Waiting for the first worker job
/// instead left that upload 1.5-2.6 s slower outside its fits (a new user's first large file after the samples:
/// 4.5-5.4 s against 2.5-2.8 s). Spares yield to the host's own work: any that are still warming up when a run starts
/// stop, and start again once the host is quiet.
/// </summary>
internal sealed partial class SparesAtStart(
    IOptions<MlopsOptions> options, IHostApplicationLifetime lifetime, ILogger<SparesAtStart> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.SpareWorkers == 0 || !settings.Isolates(large: true) || !WorkerProcess.RunsChildren)
        {
            return;
        }

        try
        {
            // After the host's own start, which warm-ups on the same cores would slow down.
            await StartedAsync(stoppingToken).ConfigureAwait(false);
            LogStarting(logger, settings.SpareWorkers);
            WorkerPool.Expect(WorkerSettings.From(settings));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stopped first.
        }
    }

    private async Task StartedAsync(CancellationToken ct)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = ct.Register(() => started.TrySetCanceled(ct));
        await started.Task.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting {Spares} spare workers (Mlops__SpareWorkers; 0 starts none)")]
    private static partial void LogStarting(ILogger logger, int spares);
}
