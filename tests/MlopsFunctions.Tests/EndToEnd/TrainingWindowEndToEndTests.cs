using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Versions learn from every accepted file: overlapping exports count each row once, and lineage says how many rows each file gave.</summary>
[Collection(LocalHostCollection.Name)]
public sealed class TrainingWindowEndToEndTests(LocalHostFixture host)
{
    [Fact]
    public async Task Three_overlapping_files_train_one_version_on_exactly_their_union()
    {
        const string model = "iris-window";
        await host.PutSpecAsync(model, """{"task":"multiclass","label":"species","trainers":["LightGbm"],"gates":{"minMetric":0.5}}""");
        var lines = LocalHostFixture.ReadSample("iris").ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        var rows = lines.Skip(1).ToArray();
        new Random(7).Shuffle(rows); // every slice then holds all three classes
        string File(IEnumerable<string> part) => lines[0] + "\n" + string.Join('\n', part) + "\n";
        var files = new[]
        {
            File(rows[..100]),                              // rows 0-99
            File(rows[50..]),                               // rows 50-149: 50 new
            File(rows[..25].Concat(rows[120..])),           // nothing new
        };

        for (var i = 0; i < files.Length; i++)
        {
            await host.UploadAsync("incoming", $"{model}/export-{i + 1}.csv", files[i]);
            await host.WaitForAsync($"api/models/{model}/runs", r => r.GetProperty("runs").GetArrayLength() == i + 1 &&
                r.GetProperty("runs").EnumerateArray().All(LocalHostFixture.IsFinished), TimeSpan.FromMinutes(2));
        }

        var versions = (await host.GetJsonAsync($"api/models/{model}")).GetProperty("versions").EnumerateArray().ToList();
        var newest = versions.Max(v => v.GetProperty("version").GetInt32());
        var record = (await host.GetJsonAsync($"api/models/{model}/versions/{newest.ToString(CultureInfo.InvariantCulture)}")).GetProperty("version");
        var datasets = record.GetProperty("lineage").GetProperty("datasets").EnumerateArray().ToList();
        Assert.Equal(files.Select(Sha), datasets.Select(d => d.GetProperty("sha256").GetString()));
        Assert.Equal(DistinctRows(files), datasets.Select(d => d.GetProperty("rows").GetInt64()));
        Assert.Equal(UnionTrainRows(files), record.GetProperty("trainRows").GetInt64());
    }

    [Fact]
    public async Task Replaying_a_version_trains_its_datasets_with_its_spec_and_seed_and_gets_the_same_candidates()
    {
        const string model = "iris-replay";
        await host.PutSpecAsync(model, """{"task":"multiclass","label":"species","trainers":["LightGbm"],"gates":{"minMetric":0.5}}""");
        await host.UploadAsync("incoming", $"{model}/iris.csv", LocalHostFixture.ReadSample("iris"));
        var original = await RunAsync(model, r => r.GetProperty("runId").GetString()!.Contains(".data.", StringComparison.Ordinal));
        var timings = original.GetProperty("details").GetProperty("timings").EnumerateObject().ToDictionary(t => t.Name, t => t.Value.GetDouble());
        Assert.Equal(["evaluating", "preparing", "promoting", "registering", "staging", "validating"], timings.Keys.Order(StringComparer.Ordinal));
        Assert.All(timings.Values, seconds => Assert.InRange(seconds, 0, 120));

        // The spec changes afterwards (other trainers, a column ignored): a replay still trains what v1 trained.
        await host.PutSpecAsync(model, """{"task":"multiclass","label":"species","trainers":["SdcaMaximumEntropy"],"ignore":["sepal_width"],"gates":{"minMetric":0.5}}""");
        Assert.Equal(404, (await host.SendAsync(HttpMethod.Post, $"api/models/{model}/retrain", """{"replay":9}""")).Status);
        var (status, body) = await host.SendAsync(HttpMethod.Post, $"api/models/{model}/retrain", """{"replay":1}""");
        Assert.Equal(202, status);
        var runId = body.GetProperty("runId").GetString()!;
        Assert.Contains(".replay.v1.", runId, StringComparison.Ordinal);
        var replay = await RunAsync(model, r => r.GetProperty("runId").GetString() == runId);

        static string Candidates(JsonElement run) => string.Join("; ", run.GetProperty("details").GetProperty("candidates").EnumerateArray()
            .Select(c => $"{c.GetProperty("name").GetString()}={c.GetProperty("value").GetDouble().ToString("R", CultureInfo.InvariantCulture)}")
            .Order(StringComparer.Ordinal)); // candidates are listed as they finish
        Assert.Equal(Candidates(original), Candidates(replay));

        var first = (await host.GetJsonAsync($"api/models/{model}/versions/1")).GetProperty("version");
        var second = (await host.GetJsonAsync($"api/models/{model}/versions/2")).GetProperty("version");
        Assert.Equal(first.GetProperty("modelSha256").GetString(), second.GetProperty("modelSha256").GetString()); // byte for byte
        var (v1, v2) = (first.GetProperty("lineage"), second.GetProperty("lineage"));
        Assert.Equal(v1.GetProperty("datasets").ToString(), v2.GetProperty("datasets").ToString());
        Assert.Equal(v1.GetProperty("spec").ToString(), v2.GetProperty("spec").ToString());
        Assert.Equal(v1.GetProperty("seed").GetInt32(), v2.GetProperty("seed").GetInt32());
        Assert.Equal("replay of v1", v2.GetProperty("trigger").GetString());
    }

    private async Task<JsonElement> RunAsync(string model, Func<JsonElement, bool> match) =>
        (await host.WaitForRunAsync(model, match)).GetProperty("runs").EnumerateArray().First(match);

    private static string Sha(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>Rows each file adds that no earlier file had (a row repeated inside one file counts as often as it appears).</summary>
    private static List<long> DistinctRows(string[] files)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var counts = new List<long>();
        foreach (var file in files)
        {
            var fileRows = file.TrimEnd('\n').Split('\n').Skip(1).ToList();
            counts.Add(fileRows.Count(r => !seen.Contains(r)));
            seen.UnionWith(fileRows);
        }

        return counts;
    }

    /// <summary>The union's rows that the content-hash split puts in training, computed here from the rows themselves.</summary>
    private static long UnionTrainRows(string[] files)
    {
        var union = files.SelectMany(f => f.TrimEnd('\n').Split('\n').Skip(1)).Distinct(StringComparer.Ordinal).ToList();
        var multiplicity = files.Select(f => f.TrimEnd('\n').Split('\n').Skip(1).GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count()));
        var split = new RowSplit(0.2, 0.1, 42);
        var header = files[0].Split('\n')[0];
        using var csv = CsvSource.Open(new MemoryStream(Encoding.UTF8.GetBytes(header + "\n" + string.Join('\n', union) + "\n")), TrickyFiles.Limits);
        var hasher = new RowHasher(42);
        var order = RowSplit.HashOrder(csv.Header);
        long train = 0;
        var index = 0;
        while (csv.MoveNext())
        {
            var row = union[index++];
            if (split.Of(hasher.Hash(csv.Current, order)) == Split.Train)
            {
                // A row first seen in a file that repeats it internally is trained on as often as that file has it.
                train += multiplicity.First(m => m.ContainsKey(row))[row];
            }
        }

        return train;
    }
}
