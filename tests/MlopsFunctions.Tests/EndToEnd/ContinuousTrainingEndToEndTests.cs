using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Continuous training left unattended: many files at once, a file re-sent after its spec is fixed, duplicates.</summary>
[Collection(LocalHostCollection.Name)]
public sealed class ContinuousTrainingEndToEndTests(LocalHostFixture host)
{
    [Fact]
    public async Task Ten_files_at_once_never_run_two_at_a_time_and_production_ends_on_the_last()
    {
        const string model = "flood";
        await host.PutSpecAsync(model, """{"task":"multiclass","label":"species","trainers":["LightGbm"],"trainOn":"latest","gates":{"minMetric":0.8}}""");
        var iris = LocalHostFixture.ReadSample("iris").ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        var files = Enumerable.Range(1, 10).Select(k => (Name: $"day-{k:D2}.csv", Content: Shuffled(iris, k))).ToList();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (name, content) in files)
        {
            await host.UploadAsync("incoming", $"{model}/{name}", content);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"uploads took {clock.Elapsed}");
        var runs = (await host.WaitForAsync($"api/models/{model}/runs", r =>
        {
            var all = r.GetProperty("runs").EnumerateArray().ToList();
            return all.Count == 10 && all.All(LocalHostFixture.IsFinished);
        }, TimeSpan.FromMinutes(3))).GetProperty("runs").EnumerateArray().ToList();

        // Runs that trained never overlapped in time.
        var ran = runs.Where(r => r.GetProperty("status").GetString() != "superseded")
            .Select(r => (Start: r.GetProperty("startedAt").GetDateTimeOffset(), End: r.GetProperty("endedAt").GetDateTimeOffset()))
            .OrderBy(r => r.Start).ToList();
        for (var i = 1; i < ran.Count; i++)
        {
            Assert.True(ran[i].Start >= ran[i - 1].End, $"run {i} started at {ran[i].Start:O} before the one before ended at {ran[i - 1].End:O}");
        }

        // Every other file is accounted for: superseded (validated by the run that replaced it) or compared.
        Assert.All(runs, r => Assert.True(
            r.GetProperty("status").GetString() == "superseded" || r.GetProperty("result").GetProperty("outcome").GetString() is "promoted" or "gates-failed",
            r.ToString()));
        var production = (await host.GetJsonAsync($"api/models/{model}")).GetProperty("slots").GetProperty("production").GetInt32();
        var version = (await host.GetJsonAsync($"api/models/{model}/versions/{production.ToString(CultureInfo.InvariantCulture)}")).GetProperty("version");
        var lastSha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(files[^1].Content)));
        Assert.Equal([lastSha], version.GetProperty("lineage").GetProperty("datasets").EnumerateArray().Select(d => d.GetProperty("sha256").GetString()));

        // Superseded files were still validated, so their data joined the model's accepted data.
        foreach (var (name, content) in files)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
            Assert.True(await host.Blobs.GetBlobContainerClient("datasets").GetBlobClient($"{model}/{sha}.csv").ExistsAsync(), name);
        }
    }

    [Fact]
    public async Task A_file_rejected_for_want_of_a_spec_runs_again_once_the_spec_exists_and_a_duplicate_does_not()
    {
        const string model = "late-spec";
        var iris = LocalHostFixture.ReadSample("iris");
        await host.UploadAsync("incoming", $"{model}/iris.csv", iris);
        var report = await host.WaitForBlobAsync("rejected", $"{model}/iris.csv.report.json");
        Assert.Contains("has no spec", report, StringComparison.Ordinal);

        await host.PutSpecAsync(model, File.ReadAllText(RepoPaths.Sample("iris.json")));
        await host.UploadAsync("incoming", $"{model}/iris.csv", iris);
        await host.WaitForProductionAsync(model);

        await host.UploadAsync("incoming", $"{model}/iris-again.csv", iris);
        await Task.Delay(TimeSpan.FromSeconds(2)); // several blob polls: a new run would be recorded by now
        var runs = (await host.GetJsonAsync($"api/models/{model}/runs")).GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);
        Assert.Equal(["data-rejected", "promoted"], runs.OrderBy(r => r.GetProperty("createdAt").GetDateTimeOffset())
            .Select(r => r.GetProperty("result").GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task Every_candidate_is_tracked_on_the_run_and_the_best_on_validation_becomes_the_version()
    {
        const string model = "diabetes-candidates";
        await host.PutSpecAsync(model, File.ReadAllText(RepoPaths.Sample("diabetes.json")));
        await host.UploadAsync("incoming", $"{model}/diabetes.csv", LocalHostFixture.ReadSample("diabetes"));
        var production = await host.WaitForProductionAsync(model);

        var run = (await host.GetJsonAsync($"api/models/{model}/runs")).GetProperty("runs")[0];
        var details = run.GetProperty("details");
        var candidates = details.GetProperty("candidates").EnumerateArray().ToList();
        Assert.Equal(6, candidates.Count); // Sdca, LightGbm x2, FastTree x2, FastForest
        Assert.All(candidates, c => Assert.True(c.GetProperty("validationMetrics").GetProperty("RSquared").ValueKind == JsonValueKind.Number, c.ToString()));
        var best = candidates.MaxBy(c => c.GetProperty("value").GetDouble())!.GetProperty("name").GetString();
        Assert.Equal(best, details.GetProperty("chosen").GetString());
        Assert.Equal((6, 6), (run.GetProperty("progress").GetProperty("candidatesDone").GetInt32(), run.GetProperty("progress").GetProperty("candidatesTotal").GetInt32()));
        Assert.Equal(42, details.GetProperty("seed").GetInt32());
        Assert.False(string.IsNullOrEmpty(details.GetProperty("mlNetVersion").GetString()));
        var version = (await host.GetJsonAsync($"api/models/{model}/versions/{production.ToString(CultureInfo.InvariantCulture)}")).GetProperty("version");
        Assert.Equal(best, version.GetProperty("trainer").GetString());
    }

    private static string Shuffled(string[] iris, int seed)
    {
        var rows = iris.Skip(1).ToArray();
        new Random(seed).Shuffle(rows);
        return iris[0] + "\n" + string.Join('\n', rows) + "\n";
    }
}
