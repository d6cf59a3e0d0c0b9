using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Upload to served prediction through LocalHost: real HTTP, real blob uploads, real durable state in Azurite.</summary>
[Collection(LocalHostCollection.Name)]
public sealed class PipelineEndToEndTests(LocalHostFixture host)
{
    [Fact]
    public async Task Iris_goes_from_upload_to_prediction_and_a_bad_file_changes_nothing()
    {
        await host.PutSpecAsync("iris", File.ReadAllText(RepoPaths.Sample("iris.json")));
        await host.UploadAsync("incoming", "iris/iris.csv", LocalHostFixture.ReadSample("iris"));

        var version = await host.WaitForProductionAsync("iris");

        var (status, body) = await host.SendAsync(HttpMethod.Post, "api/models/iris/predict",
            """[{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2},{"sepal_length":6.7,"sepal_width":3.0,"petal_length":5.2,"petal_width":2.3}]""");
        Assert.Equal(200, status);
        Assert.Equal(("iris", version.ToString(System.Globalization.CultureInfo.InvariantCulture), "production"),
            (body.GetProperty("model").GetString(), body.GetProperty("version").GetString(), body.GetProperty("slot").GetString()));
        var predictions = body.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(["setosa", "virginica"], predictions.Select(p => p.GetProperty("label").GetString()));
        Assert.InRange(predictions[0].GetProperty("scores").GetProperty("setosa").GetDouble(), 0.5, 1.0);

        var details = await host.GetJsonAsync($"api/models/iris/versions/{version}");
        var record = details.GetProperty("version");
        Assert.Equal("production", details.GetProperty("slot").GetString());
        Assert.True(record.GetProperty("metrics").GetProperty("MacroAccuracy").GetDouble() >= 0.8);
        Assert.Equal(64, record.GetProperty("modelSha256").GetString()!.Length);
        Assert.StartsWith("datasets/iris/", record.GetProperty("lineage").GetProperty("dataset").GetString(), StringComparison.Ordinal);
        Assert.Contains(record.GetProperty("gates").EnumerateArray(), g => g.GetProperty("gate").GetString() == "minMetric" && g.GetProperty("passed").GetBoolean());

        var runs = await host.GetJsonAsync("api/models/iris/runs");
        var run = runs.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("result").GetProperty("version").GetInt32() == version);
        Assert.Equal(("Completed", "done", "promoted"),
            (run.GetProperty("runtimeStatus").GetString(), run.GetProperty("stage").GetString(), run.GetProperty("result").GetProperty("outcome").GetString()));
        var single = await host.GetJsonAsync($"api/runs/{run.GetProperty("instanceId").GetString()}");
        Assert.Equal("Completed", single.GetProperty("runtimeStatus").GetString());

        // A file without the label column: rejected with a report, production untouched.
        await host.UploadAsync("incoming", "iris/broken.csv", "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n");
        var report = await host.WaitForBlobAsync("rejected", "iris/broken.csv.report.json");
        Assert.Contains("no column 'species'", report, StringComparison.Ordinal);
        Assert.True(await host.Blobs.GetBlobContainerClient("rejected").GetBlobClient("iris/broken.csv").ExistsAsync());
        Assert.Equal(version, (await host.GetJsonAsync("api/models/iris")).GetProperty("slots").GetProperty("production").GetInt32());
        var rejectedRun = await host.WaitForRunAsync("iris", r => r.GetProperty("input").GetProperty("source").GetString() == "incoming/iris/broken.csv");
        Assert.Contains(rejectedRun.GetProperty("runs").EnumerateArray(), r =>
            r.GetProperty("input").GetProperty("source").GetString() == "incoming/iris/broken.csv" &&
            r.GetProperty("result").GetProperty("outcome").GetString() == "data-rejected");
    }

    [Theory]
    [InlineData("diabetes", """{"age":59,"sex":2,"bmi":32.1,"bp":101,"s1":157,"s2":93.2,"s3":38,"s4":4,"s5":4.8598,"s6":87}""", "score")]
    [InlineData("breast-cancer", null, "probability")]
    public async Task Regression_and_binary_models_serve_predictions(string model, string? row, string field)
    {
        var csv = LocalHostFixture.ReadSample(model);
        await host.PutSpecAsync(model, File.ReadAllText(RepoPaths.Sample(model + ".json")));
        await host.UploadAsync("incoming", $"{model}/{model}.csv", csv);

        var version = await host.WaitForProductionAsync(model);
        var (status, body) = await host.SendAsync(HttpMethod.Post, $"api/models/{model}/predict", row ?? FirstRowAsJson(csv, "diagnosis"));

        Assert.True(status == 200, body.ToString());
        Assert.Equal(version.ToString(System.Globalization.CultureInfo.InvariantCulture), body.GetProperty("version").GetString());
        var prediction = body.GetProperty("predictions")[0];
        Assert.Equal(JsonValueKind.Number, prediction.GetProperty(field).ValueKind);
        if (model == "breast-cancer")
        {
            // The first row is malignant: the answer is in the user's own label values.
            Assert.Equal("malignant", prediction.GetProperty("label").GetString());
        }
    }

    internal static string FirstRowAsJson(string csv, string label)
    {
        var lines = csv.Split('\n');
        var header = lines[0].Trim().Split(',');
        var values = lines[1].Trim().Split(',');
        var row = header.Zip(values).Where(p => p.First != label)
            .ToDictionary(p => p.First, p => (object)double.Parse(p.Second, System.Globalization.CultureInfo.InvariantCulture));
        return JsonSerializer.Serialize(row);
    }
}
