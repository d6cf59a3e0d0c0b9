namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>A real Azurite (from the repository's node_modules), in memory, on free ports, for one test collection.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private ChildProcess? process;

    public string ConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var azurite = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(azurite))
        {
            throw new InvalidOperationException($"Azurite is not installed at {azurite}: run 'npm ci' in {RepoPaths.Root} (scripts/test.sh does).");
        }

        int blob = ChildProcess.FreePort(), queue = ChildProcess.FreePort(), table = ChildProcess.FreePort();
        process = ChildProcess.Start(azurite,
        [
            "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", $"{blob}", "--queuePort", $"{queue}", "--tablePort", $"{table}",
        ]);
        foreach (var port in new[] { blob, queue, table })
        {
            await ChildProcess.WaitForPortAsync(port, TimeSpan.FromSeconds(60), process);
        }

        ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Key +
            $";BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";
    }

    public async Task DisposeAsync()
    {
        if (process is not null)
        {
            await process.DisposeAsync();
        }
    }
}
