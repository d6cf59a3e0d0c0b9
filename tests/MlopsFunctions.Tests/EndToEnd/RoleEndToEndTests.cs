using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DurableTask.AzureStorage;
using DurableTask.Core;
using DurableTask.Core.History;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>
/// A serving host and a pipeline host side by side on one Azurite and one task hub, as the two Azure apps run: each
/// exposes only its role's routes, the serving host takes no durable work item, and together they take an upload
/// to production while the serving host answers with the new version.
/// </summary>
public sealed class RoleEndToEndTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string Hub = "RolesHub";
    private const string Row = """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""";

    // Routes only a pipeline host has; a serving host answers them as absent routes (404, empty body).
    private static readonly (string Method, string Path)[] PipelineRoutes =
    [
        ("PUT", "api/models/roles-iris"), ("POST", "api/models/roles-iris/swap"), ("POST", "api/models/roles-iris/rollback"),
        ("POST", "api/models/roles-iris/retrain"), ("POST", "api/models/roles-iris/versions/1/approve"),
        ("POST", "api/models/roles-iris/versions/1/reject"),
    ];

    // Routes both roles serve: each answers JSON of its own.
    private static readonly string[] ReadRoutes =
        ["api/health", "api/models", "api/models/roles-iris", "api/models/roles-iris/versions/1", "api/models/roles-iris/runs", "api/runs/roles-none.data.x"];

    [Fact]
    public async Task Serving_and_pipeline_hosts_split_the_routes_and_only_the_pipeline_takes_durable_work()
    {
        await using var servingProcess = await LocalHostProcess.StartAsync(azurite.ConnectionString, Hub, "serving");
        var serving = LocalHostFixture.Attach(servingProcess, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(serving.Http, servingProcess);

        // Alone on the hub, the serving host gets a run exactly as the blob trigger would start it, and leaves it pending.
        var orphan = LocalHostFixture.ReadSample("iris");
        await serving.UploadAsync("incoming", "roles-orphan/data.csv", orphan);
        var orphanRun = await ScheduleBlobRunAsync("roles-orphan", "data.csv", orphan);
        await Task.Delay(TimeSpan.FromSeconds(3)); // six polling intervals of an idle dispatcher (0.5 s) and twelve blob polls
        var pending = await serving.GetJsonAsync($"api/runs/{orphanRun}");
        Assert.Equal("Pending", pending.GetProperty("runtimeStatus").GetString());
        Assert.Equal(1, (await serving.GetJsonAsync("api/models/roles-orphan/runs")).GetProperty("runs").GetArrayLength());

        Assert.Contains("API only", servingProcess.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("worker and dispatchers running", servingProcess.Output, StringComparison.Ordinal);

        // The pipeline host creates the registry table and containers (in Azure the Bicep does): then both answer reads.
        await using var pipelineProcess = await LocalHostProcess.StartAsync(azurite.ConnectionString, Hub, "pipeline");
        var pipeline = LocalHostFixture.Attach(pipelineProcess, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(pipeline.Http, pipelineProcess);
        await AssertRoutesAsync(serving, absent: PipelineRoutes, present: [("POST", "api/models/roles-iris/predict"), .. ReadRoutes.Select(r => ("GET", r))]);
        await AssertRoutesAsync(pipeline, absent: [("POST", "api/models/roles-iris/predict")], present: [.. ReadRoutes.Select(r => ("GET", r))]);

        // The pipeline host works the pending run (its blob trigger finds the run already exists) and an upload to production.
        await pipeline.PutSpecAsync("roles-iris", File.ReadAllText(RepoPaths.Sample("iris.json")));
        await pipeline.UploadAsync("incoming", "roles-iris/iris.csv", LocalHostFixture.ReadSample("iris"));
        var version = await serving.WaitForProductionAsync("roles-iris");

        // The serving host learns of the other host's promotion within its slot cache's time (Mlops__SlotCacheSeconds, 2 s).
        var (status, body) = await serving.SendAsync(HttpMethod.Post, "api/models/roles-iris/predict", Row);
        for (var waited = 0; status == 404 && waited < 40; waited++)
        {
            await Task.Delay(250);
            (status, body) = await serving.SendAsync(HttpMethod.Post, "api/models/roles-iris/predict", Row);
        }

        Assert.Equal((200, version.ToString(System.Globalization.CultureInfo.InvariantCulture)), (status, body.GetProperty("version").GetString()));
        Assert.Equal("setosa", body.GetProperty("predictions")[0].GetProperty("label").GetString());

        var orphanRuns = await serving.WaitForRunAsync("roles-orphan", r => r.GetProperty("instanceId").GetString() == orphanRun);
        var finished = orphanRuns.GetProperty("runs").EnumerateArray().Single();
        Assert.Equal(("Completed", "data-rejected"), (finished.GetProperty("runtimeStatus").GetString(), finished.GetProperty("result").GetProperty("outcome").GetString()));
        Assert.Contains("worker and dispatchers running", pipelineProcess.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Delivered blob", servingProcess.Output, StringComparison.Ordinal); // no blob trigger either
    }

    [Theory]
    [InlineData("server")]
    [InlineData("serving,pipeline")]
    public async Task A_host_with_a_bad_role_does_not_start_and_says_why(string role)
    {
        await using var process = LocalHostProcess.Start(azurite.ConnectionString, Hub, role, ChildProcess.FreePort());

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains($"Mlops__Role is '{role}'", process.Output, StringComparison.Ordinal);
    }

    /// <summary>Records a run and puts it in the task hub the way the blob function starts one (same id, record and input), with no host involved.</summary>
    private async Task<string> ScheduleBlobRunAsync(string model, string name, string content)
    {
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = Hub,
            StorageAccountClientProvider = new StorageAccountClientProvider(azurite.ConnectionString),
            PartitionCount = 1,
        });
        await service.CreateIfNotExistsAsync();
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
        var request = new RunRequest(RunIds.ForData(model, sha, new string('0', 64)), model, "blob", "blob-trigger", [$"incoming/{model}/{name}"], DateTimeOffset.UtcNow, 72);
        var runs = new RunStore(new Azure.Data.Tables.TableServiceClient(azurite.ConnectionString));
        await runs.EnsureTableAsync();
        await runs.TryCreateAsync(PipelineStarter.NewRecord(request));
        var instance = new OrchestrationInstance { InstanceId = request.RunId, ExecutionId = Guid.NewGuid().ToString("N") };
        var input = JsonSerializer.Serialize(request); // as the Durable Task SDK's default converter writes it
        await service.CreateTaskOrchestrationAsync(new TaskMessage
        {
            OrchestrationInstance = instance,
            // Tags as the SDK client sends them (empty, not null): the sidecar copies them into its answers.
            Event = new ExecutionStartedEvent(-1, input)
            {
                Name = nameof(TrainingPipeline), Version = string.Empty, OrchestrationInstance = instance, Tags = new Dictionary<string, string>(),
            },
        });
        return instance.InstanceId;
    }

    /// <summary>Absent routes are 404 with no body (no function answered); present ones answer JSON from their function.</summary>
    private static async Task AssertRoutesAsync(LocalHostFixture host, IEnumerable<(string Method, string Path)> absent, IEnumerable<(string Method, string Path)> present)
    {
        foreach (var (method, path) in absent)
        {
            using var response = await host.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(Row) });
            Assert.True((int)response.StatusCode == 404 && (await response.Content.ReadAsStringAsync()).Length == 0, $"{method} {path} should be absent: {(int)response.StatusCode}");
        }

        foreach (var (method, path) in present)
        {
            var (status, body) = await host.SendAsync(new HttpMethod(method), path, method == "GET" ? null : Row);
            Assert.True(status is not (405 or 500) && body.ValueKind == JsonValueKind.Object, $"{method} {path} should be served: {status}");
        }
    }
}
