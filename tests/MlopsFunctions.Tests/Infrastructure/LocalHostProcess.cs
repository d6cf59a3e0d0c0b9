namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>LocalHost started as users start it (its own process, real Kestrel), against a given storage account.</summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    private readonly ChildProcess process;

    private LocalHostProcess(ChildProcess process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string Output => process.Output;

    public static async Task<LocalHostProcess> StartAsync(string connectionString, string taskHub = "TestHub")
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MlopsFunctions.LocalHost.dll");
        var port = ChildProcess.FreePort();
        var process = ChildProcess.Start("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["TaskHubName"] = taskHub,
            ["Mlops__MaxQueuePollingSeconds"] = "0.5",
            ["LocalHost__BlobPollSeconds"] = "0.25",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__MlopsFunctions"] = "Information",
        });
        var host = new LocalHostProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        await ChildProcess.WaitForPortAsync(port, TimeSpan.FromSeconds(60), process);
        return host;
    }

    public Task StopAsync() => process.StopAsync(TimeSpan.FromSeconds(20));

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
