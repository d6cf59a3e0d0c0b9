using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using Xunit.Sdk;

namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>One Azurite and one LocalHost shared by the end-to-end tests of a collection, with helpers to drive them.</summary>
public sealed class LocalHostFixture : IAsyncLifetime
{
    private readonly AzuriteFixture azurite = new();
    private LocalHostProcess? host;

    public HttpClient Http { get; private set; } = null!;

    public BlobServiceClient Blobs { get; private set; } = null!;

    public string ConnectionString => azurite.ConnectionString;

    public string Output => host?.Output ?? string.Empty;

    /// <summary>The LocalHost these helpers drive (its address and keys).</summary>
    public LocalHostProcess Host => host ?? throw new InvalidOperationException("LocalHost is not started.");

    /// <summary>Helpers bound to a LocalHost some test manages itself.</summary>
    public static LocalHostFixture Attach(LocalHostProcess process, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(process);
        var fixture = new LocalHostFixture { host = process };
        fixture.Http = process.CreateClient();
        fixture.Blobs = new BlobServiceClient(connectionString);
        return fixture;
    }

    /// <summary>The tricky files' limits (<see cref="TrickyFiles.Limits"/>), so limit cases stay small files.</summary>
    public static readonly IReadOnlyDictionary<string, string> SmallLimits = new Dictionary<string, string>
    {
        ["Mlops__MaxFileMegabytes"] = "1",
        ["Mlops__MaxColumns"] = "50",
        ["Mlops__MaxLineKilobytes"] = "16",
        ["Mlops__MaxCategories"] = "100",
    };

    /// <summary>
    /// The monitor sees a model new in production at its next timer tick (every 5 s) rather than after the default
    /// 30 s model-list interval, so monitoring tests wait for checks, not for the list.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> FastMonitor = new Dictionary<string, string>
    {
        ["Mlops__MonitorListSeconds"] = "1",
    };

    /// <summary>The settings of the shared LocalHost: <see cref="SmallLimits"/> and <see cref="FastMonitor"/>.</summary>
    public static readonly IReadOnlyDictionary<string, string> Settings = SmallLimits.Concat(FastMonitor).ToDictionary();

    public async Task InitializeAsync()
    {
        await azurite.InitializeAsync();
        host = await LocalHostProcess.StartAsync(azurite.ConnectionString, settings: Settings);
        Http = host.CreateClient();
        Blobs = new BlobServiceClient(azurite.ConnectionString);
        await WaitHealthyAsync(Http, host);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        await azurite.DisposeAsync();
    }

    public static async Task WaitHealthyAsync(HttpClient http, LocalHostProcess host)
    {
        for (var i = 0; i < 240; i++)
        {
            try
            {
                using var response = await http.GetAsync("api/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(250);
        }

        throw new XunitException("LocalHost did not become healthy:\n" + host.Output);
    }

    public async Task PutSpecAsync(string model, string json)
    {
        using var response = await Http.PutAsync($"api/models/{model}", new StringContent(json));
        if (!response.IsSuccessStatusCode)
        {
            throw new XunitException($"PUT spec {model}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async Task UploadAsync(string container, string name, byte[] content)
    {
        var client = Blobs.GetBlobContainerClient(container);
        await client.CreateIfNotExistsAsync();
        await client.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(content), overwrite: true);
    }

    public async Task UploadAsync(string container, string name, string content)
    {
        var client = Blobs.GetBlobContainerClient(container);
        await client.CreateIfNotExistsAsync();
        await client.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), overwrite: true);
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new XunitException($"GET {path}: {(int)response.StatusCode} {body}");
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, json);
    }

    /// <summary>Polls until a condition on GET path holds, failing with the last body and the host's log.</summary>
    public async Task<JsonElement> WaitForAsync(string path, Func<JsonElement, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await Http.GetAsync(path);
            last = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                var json = JsonDocument.Parse(last).RootElement.Clone();
                if (condition(json))
                {
                    return json;
                }
            }

            await Task.Delay(200);
        }

        throw new XunitException($"Timed out waiting on {path}; last body: {last}\nLocalHost log:\n{Output}");
    }

    /// <summary>Waits until the model has a production version other than <paramref name="not"/>, and returns it.</summary>
    public async Task<int> WaitForProductionAsync(string model, int? not = null)
    {
        var json = await WaitForAsync($"api/models/{model}", m =>
            m.GetProperty("slots").TryGetProperty("production", out var p) && p.ValueKind == JsonValueKind.Number && p.GetInt32() != not);
        return json.GetProperty("slots").GetProperty("production").GetInt32();
    }

    /// <summary>Waits for a blob the pipeline writes (a report, a copy) and returns its text.</summary>
    public async Task<string> WaitForBlobAsync(string container, string name)
    {
        var blob = Blobs.GetBlobContainerClient(container).GetBlobClient(name);
        for (var i = 0; i < 300; i++)
        {
            if (await blob.ExistsAsync())
            {
                return (await blob.DownloadContentAsync()).Value.Content.ToString();
            }

            await Task.Delay(200);
        }

        throw new XunitException($"Blob {container}/{name} never appeared.\n{Output}");
    }

    public Task<JsonElement> WaitForRunAsync(string model, Func<JsonElement, bool> match) =>
        WaitForAsync($"api/models/{model}/runs", r => r.GetProperty("runs").EnumerateArray().Any(run => match(run) && IsFinished(run)));

    public static bool IsFinished(JsonElement run) =>
        run.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated";

    public static string ReadSample(string model) => File.ReadAllText(RepoPaths.SampleData(model));

    public static Task<HttpResponseMessage> PostJsonAsync(HttpClient http, string path, object body) => http.PostAsJsonAsync(path, body);
}

[CollectionDefinition(Name)]
public sealed class LocalHostCollection : ICollectionFixture<LocalHostFixture>
{
    public const string Name = "LocalHost";
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}

/// <summary>
/// The browser test's own Azurite and LocalHost, run after the parallel collections: a browser plus three training runs
/// beside them would stretch everyone's waits on a small machine, and its own timings stay predictable alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DashboardCollection : ICollectionFixture<LocalHostFixture>
{
    public const string Name = "Dashboard";
}
