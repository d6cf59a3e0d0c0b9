using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Blobs that arrive while LocalHost is down are delivered when it starts, once, and durable state survives restarts.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RestartEndToEndTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_file_uploaded_while_LocalHost_was_down_runs_once_after_it_starts()
    {
        const string hub = "RestartHub";
        var fixture = new LocalHostFixtureView(azurite.ConnectionString);
        await using (var first = await LocalHostProcess.StartAsync(azurite.ConnectionString, hub))
        {
            await fixture.UseAsync(first, f => f.PutSpecAsync("restart-iris", File.ReadAllText(RepoPaths.Sample("iris.json"))));
            await first.StopAsync();
        }

        await fixture.UploadAsync("incoming", "restart-iris/offline.csv", LocalHostFixture.ReadSample("iris"));

        await using (var second = await LocalHostProcess.StartAsync(azurite.ConnectionString, hub))
        {
            // Stop only once the run has finished: production moves inside the last activity, and a host stopped
            // between that and the run's completion leaves the completion to a work item hidden for minutes.
            await fixture.UseAsync(second, async f =>
            {
                await f.WaitForProductionAsync("restart-iris");
                await f.WaitForRunAsync("restart-iris", _ => true);
            });
            await second.StopAsync();
        }

        await using var third = await LocalHostProcess.StartAsync(azurite.ConnectionString, hub);
        await fixture.UseAsync(third, async f =>
        {
            await Task.Delay(TimeSpan.FromSeconds(2)); // several polls of incoming/
            var runs = (await f.GetJsonAsync("api/models/restart-iris/runs")).GetProperty("runs");
            Assert.Equal(1, runs.GetArrayLength());
            Assert.Equal("Completed", runs[0].GetProperty("runtimeStatus").GetString());
            var (status, body) = await f.SendAsync(HttpMethod.Post, "api/models/restart-iris/predict",
                """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""");
            Assert.Equal((200, "1"), (status, body.GetProperty("version").GetString()));
        });
    }

    /// <summary>The fixture's HTTP and blob helpers, pointed at a LocalHost this test starts and stops itself.</summary>
    private sealed class LocalHostFixtureView(string connectionString)
    {
        private readonly Azure.Storage.Blobs.BlobServiceClient blobs = new(connectionString);

        public async Task UploadAsync(string container, string name, string content)
        {
            var client = blobs.GetBlobContainerClient(container);
            await client.CreateIfNotExistsAsync();
            await client.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), overwrite: true);
        }

        public async Task UseAsync(LocalHostProcess process, Func<LocalHostFixture, Task> action)
        {
            var view = LocalHostFixture.Attach(process, connectionString);
            await LocalHostFixture.WaitHealthyAsync(view.Http, process);
            await action(view);
        }
    }
}
