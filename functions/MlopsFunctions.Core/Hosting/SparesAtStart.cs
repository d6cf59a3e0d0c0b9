using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Hosting;

/// <summary>
/// Starts a pipeline host's spare workers (see <see cref="WorkerPool"/>) once the host has started, when storage shows a
/// model whose production version was trained in worker children (on more than <see cref="MlopsOptions.TrainerProcessRows"/>
/// rows). A restarted or scaled-out host then meets that model's next large upload with warm workers, as a host that
/// has already run one does; otherwise its validator, trainers and evaluator would start cold. Without such a model,
/// spares wait for the host's first worker job, as before.
/// </summary>
internal sealed partial class SparesAtStart(
    ModelRegistry registry, IOptions<MlopsOptions> options, IHostApplicationLifetime lifetime, ILogger<SparesAtStart> logger) : BackgroundService
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
            if (await TrainedInWorkersAsync(settings.TrainerProcessRows, stoppingToken).ConfigureAwait(false) is { } found)
            {
                LogStarting(logger, settings.SpareWorkers, found.Name, found.Version, found.TrainRows);
                WorkerPool.Expect(WorkerSettings.From(settings));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stopped first.
        }
        catch (Azure.RequestFailedException ex)
        {
            // No registry yet (a new storage account) or storage unreachable: spares start after the first worker job.
            LogUnreadable(logger, ex.Status, ex.ErrorCode);
        }
    }

    /// <summary>The first model whose production version trained on more than <paramref name="rows"/> rows, or null.</summary>
    private async Task<(string Name, int Version, long TrainRows)?> TrainedInWorkersAsync(long rows, CancellationToken ct)
    {
        foreach (var model in await registry.ListModelsAsync(ct).ConfigureAwait(false))
        {
            if (model.Slots.Production is { } production &&
                await registry.GetVersionAsync(model.Name, production, ct).ConfigureAwait(false) is { } version &&
                version.TrainRows > rows)
            {
                return (model.Name, production, version.TrainRows);
            }
        }

        return null;
    }

    private async Task StartedAsync(CancellationToken ct)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = ct.Register(() => started.TrySetCanceled(ct));
        await started.Task.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting {Spares} spare workers now: production {Model} v{Version} trained on {Rows} rows in worker processes")]
    private static partial void LogStarting(ILogger logger, int spares, string model, int version, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the registry at start ({Status} {Code}); spare workers start after the first worker job")]
    private static partial void LogUnreadable(ILogger logger, int status, string? code);
}
