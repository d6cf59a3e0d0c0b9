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

    public int ProcessId => process.Id;

    /// <param name="settings">Extra settings (environment variables) for this LocalHost, e.g. Mlops__CaptureFlushSeconds.</param>
    public static async Task<LocalHostProcess> StartAsync(string connectionString, string taskHub = "TestHub", IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MlopsFunctions.LocalHost.dll");
        var port = ChildProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["TaskHubName"] = taskHub,
            ["Mlops__MaxQueuePollingSeconds"] = "0.5",
            ["LocalHost__BlobPollSeconds"] = "0.25",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__MlopsFunctions"] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = ChildProcess.Start("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], environment);
        var host = new LocalHostProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        await ChildProcess.WaitForPortAsync(port, TimeSpan.FromSeconds(60), process);
        return host;
    }

    public Task StopAsync() => process.StopAsync(TimeSpan.FromSeconds(20));

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
