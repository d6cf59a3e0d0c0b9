using Microsoft.Extensions.Hosting;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;

namespace MlopsFunctions.Core.Storage;

/// <summary>Creates the containers, the registry table and the serving counters table at start, so no request finds them missing.</summary>
public sealed class StorageInitializer(BlobStore blobs, ModelRegistry registry, ServingMonitor monitor) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await blobs.EnsureContainersAsync(cancellationToken).ConfigureAwait(false);
        await registry.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await monitor.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
