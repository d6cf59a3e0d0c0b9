using Microsoft.Extensions.Hosting;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;

namespace MlopsFunctions.Core.Storage;

/// <summary>Creates the containers, the registry, runs and serving counters tables at start, so no request finds them missing.</summary>
public sealed class StorageInitializer(BlobStore blobs, ModelRegistry registry, Pipeline.RunStore runs, ServingMonitor monitor) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await blobs.EnsureContainersAsync(cancellationToken).ConfigureAwait(false);
        await registry.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await runs.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await monitor.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
