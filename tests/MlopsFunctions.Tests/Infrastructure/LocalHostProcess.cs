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

    /// <summary>Starts LocalHost; <paramref name="role"/> sets Mlops__Role (all, serving or pipeline), left unset when null.</summary>
    public static async Task<LocalHostProcess> StartAsync(string connectionString, string taskHub = "TestHub", string? role = null)
    {
        var port = ChildProcess.FreePort();
        var process = Start(connectionString, taskHub, role, port);
        var host = new LocalHostProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        await ChildProcess.WaitForPortAsync(port, TimeSpan.FromSeconds(60), process);
        return host;
    }

    /// <summary>Starts LocalHost without waiting for it to listen, for tests of how it refuses to start.</summary>
    public static ChildProcess Start(string connectionString, string taskHub, string? role, int port)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MlopsFunctions.LocalHost.dll");
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["TaskHubName"] = taskHub,
            ["Mlops__MaxQueuePollingSeconds"] = "0.5",
            ["LocalHost__BlobPollSeconds"] = "0.25",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__MlopsFunctions"] = "Information",
        };
        if (role is not null)
        {
            environment["Mlops__Role"] = role;
        }

        return ChildProcess.Start("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], environment);
    }

    public Task StopAsync() => process.StopAsync(TimeSpan.FromSeconds(20));

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
