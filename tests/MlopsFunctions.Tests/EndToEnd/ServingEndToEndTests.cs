using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>
/// Releases through LocalHost under real HTTP: swaps under load, canary share and stickiness, shadow scoring, the smoke
/// test, production history at an instant, request limits, and captured rows that carry the ids callers got.
/// </summary>
[Collection(LocalHostCollection.Name)]
public sealed class ServingEndToEndTests(LocalHostFixture host)
{
    private readonly ServingSeed seed = new(host);

    [Fact]
    public async Task Concurrent_predictions_never_fail_during_five_swaps_and_a_rollback()
    {
        const string Model = "swap-load";
        await seed.TrainFirstAsync(Model);
        await seed.StageCloneAsync(Model);
        var answers = new ConcurrentBag<(long Start, int Status, string? Version)>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var start = clock.ElapsedMilliseconds;
                var (status, version, _) = await seed.PredictAsync(Model);
                answers.Add((start, status, version));
            }
        })).ToList();

        // Each change: when it was asked for, when it returned, and which version production holds from then on.
        var changes = new List<(long Start, long Done, int Production)>();
        await Task.Delay(300);
        foreach (var action in new[] { "swap", "swap", "swap", "swap", "swap", "rollback" })
        {
            var start = clock.ElapsedMilliseconds;
            var (status, body) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/{action}");
            Assert.True(status == 200, $"{action}: {status} {body}");
            changes.Add((start, clock.ElapsedMilliseconds, body.GetProperty("production").GetInt32()));
            await Task.Delay(2000);
        }

        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Equal([2, 1, 2, 1, 2, 1], changes.Select(c => c.Production));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.All(answers, a => Assert.Contains(a.Version, new[] { "1", "2" }));
        Assert.True(answers.Count > 100, $"only {answers.Count} predictions were made");
        for (var i = 0; i < changes.Count; i++)
        {
            // After the reload window (1 s), every answer comes from the version the change put into production.
            var from = changes[i].Done + 1000;
            var until = i + 1 < changes.Count ? changes[i + 1].Start : long.MaxValue;
            var late = answers.Where(a => a.Start >= from && a.Start < until).ToList();
            Assert.NotEmpty(late);
            Assert.All(late, a => Assert.Equal(ServingSeed.V(changes[i].Production), a.Version));
        }
    }

    [Fact]
    public async Task A_ten_percent_canary_answers_a_tenth_of_production_and_sticks_to_callers()
    {
        const string Model = "canary-iris";
        await seed.TrainFirstAsync(Model);
        var staged = await seed.StageCloneAsync(Model);
        await host.PutSpecAsync(Model, """{"task":"multiclass","label":"species","canary":{"percent":10}}""");

        var versions = new ConcurrentBag<string?>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (_, _) =>
        {
            var (status, version, body) = await seed.PredictAsync(Model);
            Assert.True(status == 200, body.ToString());
            Assert.Equal(version, body.GetProperty("predictions")[0].GetProperty("version").GetString());
            versions.Add(version);
        });

        var share = versions.Count(v => v == ServingSeed.V(staged)) / 2000.0;
        Assert.InRange(share, 0.07, 0.13);
        Assert.All(versions, v => Assert.Contains(v, new[] { "1", ServingSeed.V(staged) }));

        // A caller key picks a stable bucket: the same caller always gets the same version.
        foreach (var caller in new[] { "alice", "bob", "carol", "dave", "erin", "frank" })
        {
            var expected = Canary.Bucket(Model, caller) < 1000 ? ServingSeed.V(staged) : "1";
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(expected, (await seed.PredictAsync(Model, caller)).Version);
            }
        }

        var canary = (await host.GetJsonAsync($"api/models/{Model}")).GetProperty("monitoring").GetProperty("canary");
        Assert.Equal((10.0, staged), (canary.GetProperty("percent").GetDouble(), canary.GetProperty("version").GetInt32()));
        Assert.InRange(canary.GetProperty("share").GetDouble(), 0.06, 0.14);
    }

    [Fact]
    public async Task Shadow_scoring_of_every_production_request_is_recorded_against_production()
    {
        const string Model = "shadow-iris";
        await seed.TrainFirstAsync(Model);
        var staged = await seed.StageCloneAsync(Model);
        // Blocks with shadow off and on: only the requests sent while it is on are scored by the staged version. That the
        // caller never waits for shadow scoring is a unit test (ServingUnitTests); its cost under load is in the benchmark.
        for (var block = 0; block < 6; block++)
        {
            var shadow = block % 2 == 1;
            await host.PutSpecAsync(Model, $$"""{"task":"multiclass","label":"species","shadow":{{(shadow ? "true" : "false")}}}""");
            for (var i = 0; i < 60; i++)
            {
                var (status, version, _) = await seed.PredictAsync(Model);
                Assert.Equal((200, "1"), (status, version));
            }
        }

        var result = await host.WaitForAsync($"api/models/{Model}", m => m.GetProperty("monitoring").GetProperty("versions").EnumerateArray()
            .Any(v => v.GetProperty("version").GetInt32() == staged && v.TryGetProperty("shadow", out var s) && s.GetProperty("compared").GetInt64() >= 150));
        var shadowOf = result.GetProperty("monitoring").GetProperty("versions").EnumerateArray().Single(v => v.GetProperty("version").GetInt32() == staged).GetProperty("shadow");
        Assert.Equal(1, shadowOf.GetProperty("against").GetInt32());
        Assert.Equal(1.0, shadowOf.GetProperty("agreement").GetDouble()); // a copy of production agrees on every row
        Assert.True(result.GetProperty("monitoring").GetProperty("shadow").GetProperty("enabled").GetBoolean()); // the last block had it on
    }

    [Fact]
    public async Task A_staged_model_whose_bytes_changed_fails_the_smoke_test_and_production_keeps_serving()
    {
        const string Model = "smoke-iris";
        await seed.TrainFirstAsync(Model);
        var staged = await seed.StageCloneAsync(Model);
        var blob = host.Blobs.GetBlobContainerClient("models").GetBlobClient($"{Model}/{staged}/model.zip");
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        bytes[^10] ^= 0xFF;
        await blob.UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);

        var (status, body) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/swap");

        Assert.Equal(409, status);
        Assert.Equal("smoke-test-failed", body.GetProperty("error").GetString());
        Assert.Contains("SHA-256", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        var model = await host.GetJsonAsync($"api/models/{Model}");
        Assert.Equal((1, staged), (model.GetProperty("slots").GetProperty("production").GetInt32(), model.GetProperty("slots").GetProperty("staging").GetInt32()));
        Assert.Equal("1", (await seed.PredictAsync(Model)).Version);
        var failed = model.GetProperty("history").EnumerateArray().First();
        Assert.Equal(("smoke-test-failed", staged), (failed.GetProperty("kind").GetString(), failed.GetProperty("version").GetInt32()));
        Assert.Contains("SHA-256", failed.GetProperty("reason").GetString(), StringComparison.Ordinal);

        // A sound copy with a holdout sample passes, and the swap's event says what was tested.
        var sound = await seed.StageCloneAsync(Model);
        await host.UploadAsync("models", $"{Model}/{sound}/sample.jsonl", string.Join('\n',
            LocalHostFixture.ReadSample("iris").Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(5)
                .Select(l => l.Trim().Split(','))
                .Select(c => $$"""{"sepal_length":"{{c[0]}}","sepal_width":"{{c[1]}}","petal_length":"{{c[2]}}","petal_width":"{{c[3]}}","species":"{{c[4]}}"}""")));
        var (swapped, swapBody) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/swap");
        Assert.True(swapped == 200, swapBody.ToString());
        Assert.Equal(ServingSeed.V(sound), (await seed.PredictAsync(Model)).Version);
        var swap = (await host.GetJsonAsync($"api/models/{Model}")).GetProperty("history").EnumerateArray().First();
        Assert.Equal("swap", swap.GetProperty("kind").GetString());
        Assert.Contains("smoke test passed on 5 sample.jsonl row(s)", swap.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_at_an_instant_names_the_production_version_across_three_promotions_and_a_rollback()
    {
        const string Model = "history-iris";
        var beforeAll = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        await seed.TrainFirstAsync(Model); // promotion 1, by the pipeline
        var instants = new List<(DateTimeOffset At, int? Production)> { (beforeAll, null) };
        await MarkAsync(1);
        foreach (var _ in new[] { 2, 3 })
        {
            var version = await seed.StageCloneAsync(Model);
            Assert.Equal(200, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/swap")).Status); // promotions 2 and 3
            await MarkAsync(version);
        }

        Assert.Equal(200, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/rollback")).Status);
        await MarkAsync(2);

        foreach (var (at, production) in instants)
        {
            var answer = await host.GetJsonAsync($"api/models/{Model}/history?at={Uri.EscapeDataString(at.ToString("O"))}");
            Assert.Equal(production, answer.TryGetProperty("production", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt32() : null);
        }

        var events = (await host.GetJsonAsync($"api/models/{Model}/history")).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("kind").GetString());
        Assert.Equal(["stage", "swap", "stage", "swap", "stage", "swap", "rollback"], events);
        var (status, bad) = await host.SendAsync(HttpMethod.Get, $"api/models/{Model}/history?at=yesterday");
        Assert.Equal((400, "invalid-time"), (status, bad.GetProperty("error").GetString()));
        Assert.Contains("ISO 8601", bad.GetProperty("message").GetString(), StringComparison.Ordinal);

        async Task MarkAsync(int production)
        {
            await Task.Delay(50);
            instants.Add((DateTimeOffset.UtcNow, production));
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Oversized_bodies_and_too_many_rows_get_413_before_parsing()
    {
        var big = new string(' ', (4 * 1024 * 1024) + 1);
        var (declared, declaredBody) = await host.SendAsync(HttpMethod.Post, "api/models/limits-iris/predict", big);
        Assert.Equal((413, "body-too-large"), (declared, declaredBody.GetProperty("error").GetString()));

        // Without Content-Length (chunked), the bytes are counted while reading.
        using (var chunked = new HttpRequestMessage(HttpMethod.Post, "api/models/limits-iris/predict") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))) })
        {
            chunked.Headers.TransferEncodingChunked = true;
            using var response = await host.Http.SendAsync(chunked);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        var rows = "[" + string.Join(',', Enumerable.Repeat("{}", 10_001)) + "]";
        var (many, manyBody) = await host.SendAsync(HttpMethod.Post, "api/models/limits-iris/predict", rows);
        Assert.Equal((413, "too-many-rows"), (many, manyBody.GetProperty("error").GetString()));
        Assert.Contains("10000", manyBody.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_prediction_has_an_id_and_captured_rows_carry_the_same_ids()
    {
        const string Model = "capture-iris";
        await seed.TrainFirstAsync(Model);
        var ids = new List<string>();
        var (_, _, one) = await seed.PredictAsync(Model);
        var (_, _, two) = await seed.PredictAsync(Model, body: """
            [{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2},
             {"sepal_length": 6.7,
              "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}]
            """);
        foreach (var body in new[] { one, two })
        {
            ids.AddRange(body.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("id").GetString()!));
        }

        Assert.Equal(3, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal(26, id.Length));

        var lines = new Dictionary<string, JsonElement>();
        var container = host.Blobs.GetBlobContainerClient("captured");
        for (var attempt = 0; attempt < 100 && !ids.All(lines.ContainsKey); attempt++)
        {
            await Task.Delay(200);
            await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{Model}/1/", CancellationToken.None))
            {
                Assert.Matches(@"^capture-iris/1/\d{4}-\d{2}-\d{2}-\d{2}/[a-z0-9-]+\.jsonl\.gz$", blob.Name);
                await using var gzip = new System.IO.Compression.GZipStream((await container.GetBlobClient(blob.Name).DownloadStreamingAsync()).Value.Content, System.IO.Compression.CompressionMode.Decompress);
                var text = await new StreamReader(gzip).ReadToEndAsync();
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    var json = JsonDocument.Parse(line).RootElement.Clone();
                    lines[json.GetProperty("id").GetString()!] = json;
                }
            }
        }

        Assert.All(ids, id => Assert.True(lines.ContainsKey(id), $"captured rows lack {id}:\n{host.Output}"));
        var second = lines[ids[2]];
        Assert.Equal(("production", "1"), (second.GetProperty("slot").GetString(), second.GetProperty("version").GetString()));
        Assert.Equal(6.7, second.GetProperty("inputs").GetProperty("sepal_length").GetDouble());
        Assert.Equal("virginica", second.GetProperty("output").GetProperty("label").GetString());
        Assert.True(second.GetProperty("time").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));

        var counters = await host.WaitForAsync($"api/models/{Model}", m => m.GetProperty("monitoring").GetProperty("versions").EnumerateArray()
            .Any(v => v.GetProperty("version").GetInt32() == 1 && v.GetProperty("captured").GetInt64() >= 3));
        var v1 = counters.GetProperty("monitoring").GetProperty("versions").EnumerateArray().Single(v => v.GetProperty("version").GetInt32() == 1);
        Assert.Equal((0, 2), (v1.GetProperty("dropped").GetInt64(), v1.GetProperty("production").GetInt64()));
    }
}
