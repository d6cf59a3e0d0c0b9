using System.Globalization;
using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Data handling through LocalHost: every bad file leaves production alone with its exact anomaly; real-world features serve.</summary>
[Collection(LocalHostCollection.Name)]
public sealed class DataEndToEndTests(LocalHostFixture host)
{
    [Fact]
    public async Task Twenty_five_bad_files_are_each_rejected_with_their_anomaly_and_production_never_changes()
    {
        const string model = "tricky";
        await host.PutSpecAsync(model, TrickyFiles.Spec);
        await host.UploadAsync("incoming", $"{model}/iris.csv", LocalHostFixture.ReadSample("iris"));
        var production = await host.WaitForProductionAsync(model);

        foreach (var file in TrickyFiles.Rejected)
        {
            await host.UploadAsync("incoming", $"{model}/{file.Name}", file.Content);
        }

        foreach (var file in TrickyFiles.Rejected)
        {
            var report = JsonDocument.Parse(await host.WaitForBlobAsync("rejected", $"{model}/{file.Name}.report.json")).RootElement;
            Assert.False(report.GetProperty("accepted").GetBoolean(), file.Name);
            var anomalies = report.GetProperty("anomalies").EnumerateArray().ToList();
            Assert.Contains(anomalies, a => a.GetProperty("code").GetString() == file.Code && a.GetProperty("severity").GetString() == "error");
            Assert.True(await host.Blobs.GetBlobContainerClient("rejected").GetBlobClient($"{model}/{file.Name}").ExistsAsync(), file.Name);
        }

        await host.WaitForAsync($"api/models/{model}/runs", r => r.GetProperty("runs").EnumerateArray().All(LocalHostFixture.IsFinished));
        var state = await host.GetJsonAsync($"api/models/{model}");
        Assert.Equal(production, state.GetProperty("slots").GetProperty("production").GetInt32());
        Assert.Equal(1, state.GetProperty("versions").GetArrayLength());
        Assert.False(state.GetProperty("slots").TryGetProperty("staging", out _));
    }

    [Fact]
    public async Task Cars_learns_from_its_date_and_answers_for_an_unseen_origin_and_a_null_horsepower()
    {
        const string model = "cars-features";
        await host.PutSpecAsync(model, File.ReadAllText(RepoPaths.Sample("cars.json")));
        await host.UploadAsync("incoming", $"{model}/cars.csv", LocalHostFixture.ReadSample("cars"));
        var version = await host.WaitForProductionAsync(model);

        var details = await host.GetJsonAsync($"api/models/{model}/versions/{version.ToString(CultureInfo.InvariantCulture)}");
        var year = details.GetProperty("schema").GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "Year");
        Assert.Equal("date", year.GetProperty("kind").GetString());
        Assert.Equal(2, details.GetProperty("schema").GetProperty("featurization").GetInt32());
        var known = """{"Cylinders":4,"Displacement":120,"Horsepower":90,"Weight_in_lbs":2400,"Acceleration":16,"Year":"1980-01-01","Origin":"Japan"}""";
        var unseen = known.Replace("Japan", "Mars", StringComparison.Ordinal);
        var missing = known.Replace("\"Horsepower\":90", "\"Horsepower\":null", StringComparison.Ordinal);
        var older = known.Replace("1980", "1970", StringComparison.Ordinal);

        var answers = new List<double>();
        foreach (var body in new[] { known, unseen, missing, older })
        {
            var (status, json) = await host.SendAsync(HttpMethod.Post, $"api/models/{model}/predict", body);
            Assert.True(status == 200, json.ToString());
            answers.Add(json.GetProperty("predictions")[0].GetProperty("score").GetDouble());
        }

        Assert.All(answers, a => Assert.InRange(a, 5, 60));
        Assert.True(answers[0] > answers[3], $"a 1980 car should do more miles per gallon than a 1970 one: {answers[0]} vs {answers[3]}");
    }

    [Fact]
    public async Task A_version_shows_its_profile_schema_and_validation_report()
    {
        const string model = "iris-profile";
        await host.PutSpecAsync(model, File.ReadAllText(RepoPaths.Sample("iris.json")));
        await host.UploadAsync("incoming", $"{model}/iris.csv", LocalHostFixture.ReadSample("iris"));
        var version = await host.WaitForProductionAsync(model);

        var details = await host.GetJsonAsync($"api/models/{model}/versions/{version.ToString(CultureInfo.InvariantCulture)}");

        var petal = details.GetProperty("profile").GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "petal_length");
        Assert.Equal(150, petal.GetProperty("count").GetInt64());
        Assert.Equal(150, petal.GetProperty("histogram").GetProperty("counts").EnumerateArray().Sum(c => c.GetInt64()));
        Assert.True(details.GetProperty("validation").GetProperty("accepted").GetBoolean());
        Assert.Equal(64, details.GetProperty("version").GetProperty("profileSha256").GetString()!.Length);
        Assert.False(details.GetProperty("validation").TryGetProperty("drift", out _)); // a model's first data has nothing to drift from
    }
}
