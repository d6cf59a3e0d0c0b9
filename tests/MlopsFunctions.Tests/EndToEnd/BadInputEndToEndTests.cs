using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Every kind of bad input gets a clear 4xx JSON error or a rejected-data report, and nothing answers 500.</summary>
[Collection(LocalHostCollection.Name)]
public sealed class BadInputEndToEndTests(LocalHostFixture host)
{
    [Theory]
    [InlineData("PUT", "api/models/Iris", """{"task":"binary","label":"y"}""", 400, "invalid-model-name")]
    [InlineData("PUT", "api/models/spec-bad", """{"label":"y"}""", 400, "invalid-spec")]
    [InlineData("PUT", "api/models/spec-bad", """{"task":"ranking","label":"y"}""", 400, "invalid-spec")]
    [InlineData("PUT", "api/models/spec-bad", "not json", 400, "invalid-spec")]
    [InlineData("GET", "api/models/never-defined", null, 404, "model-not-found")]
    [InlineData("GET", "api/models/never-defined/versions/abc", null, 400, "invalid-version")]
    [InlineData("GET", "api/models/never-defined/versions/3", null, 404, "version-not-found")]
    [InlineData("POST", "api/models/never-defined/predict", """{"x":1}""", 404, "no-model-in-slot")]
    [InlineData("POST", "api/models/never-defined/predict?slot=canary", """{"x":1}""", 400, "invalid-slot")]
    [InlineData("POST", "api/models/never-defined/swap", null, 404, "model-not-found")]
    [InlineData("POST", "api/models/never-defined/rollback", null, 404, "model-not-found")]
    [InlineData("POST", "api/models/never-defined/retrain", null, 404, "model-not-found")]
    [InlineData("POST", "api/models/never-defined/versions/1/approve", null, 404, "version-not-found")]
    [InlineData("GET", "api/runs/no-such-run", null, 404, "run-not-found")]
    public async Task Bad_requests_get_a_json_error(string method, string path, string? body, int status, string error)
    {
        var (actual, json) = await host.SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(status, actual);
        Assert.Equal(error, json.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Predict_names_the_missing_or_non_numeric_feature()
    {
        await host.PutSpecAsync("iris-predict", File.ReadAllText(RepoPaths.Sample("iris.json")));
        await host.UploadAsync("incoming", "iris-predict/iris.csv", LocalHostFixture.ReadSample("iris"));
        await host.WaitForProductionAsync("iris-predict");

        var (missing, missingBody) = await host.SendAsync(HttpMethod.Post, "api/models/iris-predict/predict", """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}""");
        var (text, textBody) = await host.SendAsync(HttpMethod.Post, "api/models/iris-predict/predict", """{"sepal_length":"wide","sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""");
        var (notJson, _) = await host.SendAsync(HttpMethod.Post, "api/models/iris-predict/predict", "{sepal_length: 1");

        Assert.Equal((400, 400, 400), (missing, text, notJson));
        Assert.Contains("'petal_width'", missingBody.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("'sepal_length' must be a number", textBody.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-spec-model", "data.csv", "a,b\n1,2\n", "has no spec")]
    [InlineData("badfiles", "empty.csv", "", "The file is empty")]
    [InlineData("badfiles", "header-only.csv", "x,y\n", "header but no data rows")]
    [InlineData("badfiles", "notes.txt", "x,y\n1,2\n", "not a .csv file")]
    [InlineData("badfiles", "ragged.csv", "x,y\n1,2\n3\n", "1 row(s) do not have 2 fields like the header (first at line 3)")]
    public async Task Bad_files_are_rejected_with_a_report(string model, string file, string content, string expected)
    {
        if (model == "badfiles")
        {
            await host.PutSpecAsync(model, """{"task":"regression","label":"y"}""");
        }

        await host.UploadAsync("incoming", $"{model}/{file}", content);

        var report = await WaitForReportAsync($"{model}/{file}.report.json");
        Assert.False(report.GetProperty("accepted").GetBoolean());
        Assert.Contains(report.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains(expected, StringComparison.Ordinal));
        var models = await host.GetJsonAsync("api/models");
        Assert.DoesNotContain(models.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == model && m.TryGetProperty("production", out _));
    }

    [Fact]
    public async Task A_folder_that_is_not_a_model_name_gets_a_report_outside_any_model()
    {
        var container = host.Blobs.GetBlobContainerClient("rejected");
        await host.UploadAsync("incoming", "Bad_Name/data.csv", "a,b\n1,2\n");

        for (var i = 0; i < 200; i++)
        {
            await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "_invalid-model-name/", CancellationToken.None))
            {
                var text = (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString();
                if (text.Contains("incoming/Bad_Name/data.csv", StringComparison.Ordinal))
                {
                    Assert.Contains("not a valid model name", text, StringComparison.Ordinal);
                    return;
                }
            }

            await Task.Delay(200);
        }

        Assert.Fail("No report for incoming/Bad_Name/data.csv.\n" + host.Output);
    }

    [Fact]
    public async Task The_same_file_dropped_twice_is_one_run()
    {
        await host.PutSpecAsync("iris-twice", File.ReadAllText(RepoPaths.Sample("iris.json")));
        var csv = LocalHostFixture.ReadSample("iris");
        await host.UploadAsync("incoming", "iris-twice/monday.csv", csv);
        await host.WaitForProductionAsync("iris-twice");
        await host.UploadAsync("incoming", "iris-twice/tuesday.csv", csv);
        await host.PutSpecAsync("iris-twice-marker", """{"task":"regression","label":"y"}""");
        await host.UploadAsync("incoming", "iris-twice-marker/after.csv", "x,y\n");
        await WaitForReportAsync("iris-twice-marker/after.csv.report.json"); // the watcher has passed tuesday.csv by now

        var runs = (await host.GetJsonAsync("api/models/iris-twice/runs")).GetProperty("runs");
        var model = await host.GetJsonAsync("api/models/iris-twice");

        Assert.Equal(1, runs.GetArrayLength());
        Assert.Single(model.GetProperty("versions").EnumerateArray());
    }

    private async Task<JsonElement> WaitForReportAsync(string name) =>
        JsonDocument.Parse(await host.WaitForBlobAsync("rejected", name)).RootElement.Clone();
}
