namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>LocalHost started as users start it (its own process, real Kestrel), against a given storage account.</summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    private readonly ChildProcess process;

    public const string FunctionKeyName = "tests";

    private LocalHostProcess(ChildProcess process, Uri baseAddress, string masterKey, string functionKey)
    {
        this.process = process;
        BaseAddress = baseAddress;
        MasterKey = masterKey;
        FunctionKey = functionKey;
    }

    public Uri BaseAddress { get; }

    /// <summary>The admin key this LocalHost was started with (LocalHost__MasterKey), new for every start.</summary>
    public string MasterKey { get; }

    /// <summary>The function key named <see cref="FunctionKeyName"/> (LocalHost__FunctionKeys__tests).</summary>
    public string FunctionKey { get; }

    public string Output => process.Output;

    public bool HasExited => process.HasExited;

    /// <summary>The operating system's process id (benchmarks read its CPU time).</summary>
    public int ProcessId => process.Id;

    /// <summary>Starts LocalHost with fresh keys; <paramref name="role"/> sets Mlops__Role (all, serving or pipeline), left unset when null.</summary>
    public static async Task<LocalHostProcess> StartAsync(
        string connectionString, string taskHub = "TestHub", string? role = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = ChildProcess.FreePort();
        string masterKey = NewKey(), functionKey = NewKey();
        var process = Start(connectionString, taskHub, role, port, masterKey, functionKey, settings);
        var host = new LocalHostProcess(process, new Uri($"http://127.0.0.1:{port}/"), masterKey, functionKey);
        await ChildProcess.WaitForPortAsync(port, TimeSpan.FromSeconds(60), process);
        return host;
    }

    /// <summary>Starts LocalHost without waiting for it to listen, for tests of how it refuses to start.</summary>
    public static ChildProcess Start(string connectionString, string taskHub, string? role, int port, IReadOnlyDictionary<string, string>? settings = null) =>
        Start(connectionString, taskHub, role, port, NewKey(), NewKey(), settings);

    private static ChildProcess Start(
        string connectionString, string taskHub, string? role, int port, string masterKey, string functionKey, IReadOnlyDictionary<string, string>? settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MlopsFunctions.LocalHost.dll");
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["TaskHubName"] = taskHub,
            ["Mlops__MaxQueuePollingSeconds"] = "0.5",
            ["LocalHost__BlobPollSeconds"] = "0.25",
            ["LocalHost__MasterKey"] = masterKey,
            [$"LocalHost__FunctionKeys__{FunctionKeyName}"] = functionKey,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__MlopsFunctions"] = "Information",
        };
        if (role is not null)
        {
            environment["Mlops__Role"] = role;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return ChildProcess.Start("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], environment);
    }

    /// <summary>An HTTP client for this LocalHost that sends the admin key, so every route is open to it.</summary>
    public HttpClient CreateClient()
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("x-functions-key", MasterKey);
        return http;
    }

    public static string NewKey() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();

    public Task StopAsync() => process.StopAsync(TimeSpan.FromSeconds(20));

    /// <summary>Kills the process without warning (a crash).</summary>
    public Task KillAsync() => process.KillAsync();

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
