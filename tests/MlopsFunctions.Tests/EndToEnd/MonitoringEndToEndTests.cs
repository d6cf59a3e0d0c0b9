using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>
/// The closed loop through LocalHost: served inputs that drift raise a drift event on the drifted feature and, with
/// labelled data, one retrain; unshifted inputs raise neither; feedback that makes the live metric decay starts exactly
/// one retrain, which trains on the feedback rows. The monitor runs on its timer (every 5 s) with monitoring.schedule
/// every 2 s, and the fixture's <see cref="LocalHostFixture.FastMonitor"/> makes it see a new production version at once.
/// Each test takes well under a minute; the waits' ceiling only bounds a failure.
/// </summary>
[Collection(LocalHostCollection.Name)]
public sealed class MonitoringEndToEndTests(LocalHostFixture host)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Inputs_shifted_two_standard_deviations_on_one_feature_raise_drift_on_it_and_retrain_once_labelled_data_exists()
    {
        const string Model = "drift-shifted";
        var (header, rows) = await TrainDiabetesAsync(Model);
        var bmi = Array.IndexOf(header, "bmi");
        var values = rows.Select(r => double.Parse(r[bmi], CultureInfo.InvariantCulture)).ToList();
        var std = Math.Sqrt(values.Sum(v => Math.Pow(v - values.Average(), 2)) / (values.Count - 1));
        var served = rows.Where((_, i) => i % 2 == 0).Take(200)
            .Select(r => r.Select((cell, c) => c == bmi ? (double.Parse(cell, CultureInfo.InvariantCulture) + (2 * std)).ToString("R", CultureInfo.InvariantCulture) : cell).ToArray())
            .ToList();
        var ids = await PredictAsync(Model, header, served);

        var drift = await host.WaitForAsync($"api/models/{Model}/drift", d => d.GetProperty("reports").EnumerateArray()
            .Any(r => r.GetProperty("judged").GetBoolean() && r.GetProperty("rows").GetInt64() >= 200), Long);
        var report = drift.GetProperty("reports").EnumerateArray().Last(r => r.GetProperty("judged").GetBoolean());
        Assert.Equal(["bmi"], report.GetProperty("drifted").EnumerateArray().Select(f => f.GetString()));
        Assert.True(Feature(report, "bmi").GetProperty("psi").GetDouble() > 1, report.ToString());
        // The features served unchanged stay under the threshold (the same rows, so PSI is sampling noise only).
        Assert.Equal(0.2, drift.GetProperty("threshold").GetDouble());
        var steady = report.GetProperty("features").EnumerateArray().Where(f => f.GetProperty("name").GetString() != "bmi").ToList();
        Assert.Contains(steady, f => f.GetProperty("name").GetString() == "age");
        Assert.All(steady, f => Assert.True(f.GetProperty("psi").GetDouble() < 0.2, f.ToString()));
        var history = await EventsOnceAsync(Model, "drift"); // the report is saved a moment before the alarm's event
        var raised = Assert.Single(history, e => e.GetProperty("kind").GetString() == "drift");
        Assert.Contains("bmi PSI", raised.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("monitor", raised.GetProperty("actor").GetString());
        Assert.DoesNotContain(await Runs(Model), r => r.GetProperty("input").GetProperty("trigger").GetString() == "drift"); // no labelled data yet

        // Ground truth for the served rows: labelled data newer than production, so the open alarm retrains.
        var progression = Array.IndexOf(header, "progression");
        await PostFeedbackAsync(Model, ids.Select((id, i) => new { id, label = double.Parse(served[i][progression], CultureInfo.InvariantCulture) }));
        var runs = await host.WaitForAsync($"api/models/{Model}/runs", r => r.GetProperty("runs").EnumerateArray()
            .Any(run => run.GetProperty("input").GetProperty("trigger").GetString() == "drift" && LocalHostFixture.IsFinished(run)), Long);
        var retrain = Assert.Single(runs.GetProperty("runs").EnumerateArray(), r => r.GetProperty("input").GetProperty("trigger").GetString() == "drift");
        Assert.Equal(RunIds.ForDrift(Model, 1), retrain.GetProperty("runId").GetString());
        var feedbackDataset = await AcceptedFeedbackDatasetAsync(Model);
        Assert.Contains(feedbackDataset.Sha256, Datasets(retrain));
    }

    [Fact]
    public async Task Unshifted_inputs_raise_no_drift_and_start_no_retrain_even_with_labelled_data()
    {
        const string Model = "drift-steady";
        var (header, rows) = await TrainDiabetesAsync(Model);
        var served = rows.Where((_, i) => i % 2 == 0).Take(200).ToList();
        var ids = await PredictAsync(Model, header, served);
        var progression = Array.IndexOf(header, "progression");
        await PostFeedbackAsync(Model, ids.Select((id, i) => new { id, label = double.Parse(served[i][progression], CultureInfo.InvariantCulture) }));

        var drift = await host.WaitForAsync($"api/models/{Model}/drift", d => d.GetProperty("reports").EnumerateArray()
            .Any(r => r.GetProperty("judged").GetBoolean() && r.GetProperty("rows").GetInt64() >= 200), Long);
        var feedback = await host.WaitForAsync($"api/models/{Model}/feedback", f => f.GetProperty("feedback").GetProperty("joined").GetInt64() == 200, Long);
        Assert.Equal(200, feedback.GetProperty("live").GetProperty("labelled").GetInt32());
        var checkedAt = feedback.GetProperty("checkedAt").GetDateTimeOffset();
        await host.WaitForAsync($"api/models/{Model}/feedback", f => f.GetProperty("checkedAt").GetDateTimeOffset() > checkedAt.AddSeconds(6), Long); // more checks

        var reports = (await host.GetJsonAsync($"api/models/{Model}/drift")).GetProperty("reports").EnumerateArray().ToList();
        Assert.All(reports, r => Assert.Empty(r.GetProperty("drifted").EnumerateArray()));
        Assert.All(reports.SelectMany(r => r.GetProperty("features").EnumerateArray()), f => Assert.True(f.GetProperty("psi").GetDouble() < 0.2, f.ToString()));
        Assert.DoesNotContain(await Events(Model), e => e.GetProperty("kind").GetString() == "drift");
        Assert.Equal(["blob"], (await Runs(Model)).Select(r => r.GetProperty("input").GetProperty("trigger").GetString()));
    }

    [Fact]
    public async Task Feedback_that_makes_the_live_metric_decay_starts_exactly_one_retrain_that_trains_on_the_feedback()
    {
        const string Model = "decay-iris";
        await host.PutSpecAsync(Model, """
            {"task":"multiclass","label":"species","trainers":["LightGbm"],
             "monitoring":{"schedule":"*/2 * * * * *","decay":{"min":0.8,"window":60,"minLabelled":30}}}
            """);
        await host.UploadAsync("incoming", $"{Model}/iris.csv", LocalHostFixture.ReadSample("iris"));
        await host.WaitForProductionAsync(Model);
        var (header, rows) = Csv(LocalHostFixture.ReadSample("iris"));
        var served = rows.Where((_, i) => i % 2 == 0).Take(60).ToList();
        var ids = await PredictAsync(Model, header, served);

        // Malformed feedback is refused, naming what is wrong, and stores nothing.
        var (badLabel, badLabelBody) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/feedback", $$$"""[{"id":"{{{ids[0]}}}","label":{"class":"setosa"}}]""");
        Assert.Equal((400, "invalid-feedback"), (badLabel, badLabelBody.GetProperty("error").GetString()));
        Assert.Contains("label", badLabelBody.GetProperty("message").GetString(), StringComparison.Ordinal);
        var (badId, badIdBody) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/feedback", """{"id":"not-an-id","label":"setosa"}""");
        Assert.Equal((400, "invalid-feedback"), (badId, badIdBody.GetProperty("error").GetString()));
        Assert.Contains("'id'", badIdBody.GetProperty("message").GetString(), StringComparison.Ordinal);
        var (noLabel, noLabelBody) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/feedback", $$$"""[{"id":"{{{ids[0]}}}"}]""");
        Assert.Equal((400, "invalid-feedback"), (noLabel, noLabelBody.GetProperty("error").GetString()));
        var (notJson, notJsonBody) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/feedback", """[{"id":""");
        Assert.Equal((400, "invalid-json"), (notJson, notJsonBody.GetProperty("error").GetString()));
        var (tooMany, tooManyBody) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/feedback", "[" + string.Join(',', Enumerable.Repeat("{}", 10_001)) + "]");
        Assert.Equal(413, tooMany);
        Assert.False(string.IsNullOrEmpty(tooManyBody.GetProperty("error").GetString()));
        var (noModel, noModelBody) = await host.SendAsync(HttpMethod.Post, "api/models/no-such-model/feedback", $$$"""[{"id":"{{{ids[0]}}}","label":"setosa"}]""");
        Assert.Equal((404, "model-not-found"), (noModel, noModelBody.GetProperty("error").GetString()));

        // Wrong labels for 40 predictions (each class named as the next), one id twice, and an id no prediction had.
        string[] classes = ["setosa", "versicolor", "virginica"];
        var species = Array.IndexOf(header, "species");
        var wrong = ids.Take(40).Select((id, i) => new { id, label = classes[(Array.IndexOf(classes, served[i][species]) + 1) % 3] }).ToList();
        var stranger = PredictionIds.Create(DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds(), 7, 7);
        var receipt = await PostFeedbackAsync(Model, wrong.Append(wrong[0]).Append(new { id = stranger, label = "setosa" }));
        Assert.Equal((42, 41, 1), (receipt.GetProperty("received").GetInt32(), receipt.GetProperty("recorded").GetInt32(), receipt.GetProperty("duplicates").GetInt32()));
        await PostFeedbackAsync(Model, [wrong[1]]); // the same label again, later: counted once

        var runs = await host.WaitForAsync($"api/models/{Model}/runs", r => r.GetProperty("runs").EnumerateArray()
            .Any(run => run.GetProperty("input").GetProperty("trigger").GetString() == "decay" && LocalHostFixture.IsFinished(run)), Long);
        var retrain = Assert.Single(runs.GetProperty("runs").EnumerateArray(), r => r.GetProperty("input").GetProperty("trigger").GetString() == "decay");
        Assert.Equal(RunIds.ForDecay(Model, 1), retrain.GetProperty("runId").GetString());
        var feedbackDataset = await AcceptedFeedbackDatasetAsync(Model);
        Assert.Contains(feedbackDataset.Sha256, Datasets(retrain));
        Assert.Equal(40, feedbackDataset.UsableRows);
        Assert.Equal(2, Datasets(retrain).Count); // iris.csv and the feedback

        var feedback = await host.GetJsonAsync($"api/models/{Model}/feedback");
        var counts = feedback.GetProperty("feedback");
        // 42 lines stored (41 ids, then one repeat): the refused bodies stored nothing.
        Assert.Equal((42, 40, 1, 1), (counts.GetProperty("received").GetInt64(), counts.GetProperty("joined").GetInt64(),
            counts.GetProperty("repeated").GetInt64(), counts.GetProperty("unknown").GetInt64()));
        var live = feedback.GetProperty("live");
        Assert.Equal(("MacroAccuracy", 40, 1), (live.GetProperty("metric").GetString(), live.GetProperty("labelled").GetInt32(), live.GetProperty("version").GetInt32()));
        // v1 scored well on its holdout; against labels that all name another class, its live metric collapses.
        var holdout = (await host.GetJsonAsync($"api/models/{Model}/versions/1")).GetProperty("version").GetProperty("metrics").GetProperty("MacroAccuracy").GetDouble();
        Assert.True(holdout >= 0.8, holdout.ToString(CultureInfo.InvariantCulture));
        Assert.True(live.GetProperty("value").GetDouble() < 0.2, live.ToString());
        Assert.True(live.GetProperty("decayed").GetBoolean(), live.ToString());
        Assert.Contains(await EventsOnceAsync(Model, "decay"), e => e.GetProperty("kind").GetString() == "decay" && e.GetProperty("reason").GetString()!.Contains("MacroAccuracy", StringComparison.Ordinal));

        // Later checks (every 2 s) see the same decayed version or the retrained one: never a second retrain.
        var checkedAt = feedback.GetProperty("checkedAt").GetDateTimeOffset();
        await host.WaitForAsync($"api/models/{Model}/feedback", f => f.GetProperty("checkedAt").GetDateTimeOffset() > checkedAt.AddSeconds(10), Long);
        Assert.Single(await Runs(Model), r => r.GetProperty("input").GetProperty("trigger").GetString() == "decay");
    }

    private async Task<(string[] Header, List<string[]> Rows)> TrainDiabetesAsync(string model)
    {
        await host.PutSpecAsync(model, """
            {"task":"regression","label":"progression","trainers":["LightGbm"],"monitoring":{"schedule":"*/2 * * * * *","psiThreshold":0.2}}
            """);
        var text = LocalHostFixture.ReadSample("diabetes");
        await host.UploadAsync("incoming", $"{model}/diabetes.csv", text);
        await host.WaitForProductionAsync(model);
        return Csv(text);
    }

    private static (string[] Header, List<string[]> Rows) Csv(string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (lines[0].Split(','), lines.Skip(1).Select(l => l.Split(',')).ToList());
    }

    /// <summary>Predicts the rows (the label column left out) in one request and returns the prediction ids, in order.</summary>
    private async Task<List<string>> PredictAsync(string model, string[] header, List<string[]> rows)
    {
        var body = new StringBuilder("[");
        foreach (var row in rows)
        {
            body.Append(body.Length > 1 ? ",{" : "{");
            body.AppendJoin(',', header.Select((name, c) => (name, c)).Where(x => x.name is not ("progression" or "species"))
                .Select(x => $"\"{x.name}\":{row[x.c]}"));
            body.Append('}');
        }

        var (status, answer) = await host.SendAsync(HttpMethod.Post, $"api/models/{model}/predict", body.Append(']').ToString());
        Assert.True(status == 200, answer.ToString());
        return answer.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("id").GetString()!).ToList();
    }

    private async Task<JsonElement> PostFeedbackAsync<T>(string model, IEnumerable<T> labels)
    {
        var (status, body) = await host.SendAsync(HttpMethod.Post, $"api/models/{model}/feedback", JsonSerializer.Serialize(labels));
        Assert.True(status == 202, body.ToString());
        return body;
    }

    private async Task<DatasetRecord> AcceptedFeedbackDatasetAsync(string model)
    {
        var registry = new ModelRegistry(new TableServiceClient(host.ConnectionString));
        return Assert.Single(await registry.ListDatasetsAsync(model), TrainingWindows.IsFeedback);
    }

    private async Task<List<JsonElement>> Runs(string model) =>
        (await host.GetJsonAsync($"api/models/{model}/runs")).GetProperty("runs").EnumerateArray().ToList();

    /// <summary>The model's events once one of <paramref name="kind"/> is among them.</summary>
    private async Task<List<JsonElement>> EventsOnceAsync(string model, string kind) =>
        (await host.WaitForAsync($"api/models/{model}/history", h => h.GetProperty("events").EnumerateArray()
            .Any(e => e.GetProperty("kind").GetString() == kind), Long)).GetProperty("events").EnumerateArray().ToList();

    private async Task<List<JsonElement>> Events(string model) =>
        (await host.GetJsonAsync($"api/models/{model}/history")).GetProperty("events").EnumerateArray().ToList();

    private static List<string> Datasets(JsonElement run) =>
        run.GetProperty("details").GetProperty("datasets").EnumerateArray().Select(d => d.GetProperty("sha256").GetString()!).ToList();

    private static JsonElement Feature(JsonElement report, string name) =>
        report.GetProperty("features").EnumerateArray().Single(f => f.GetProperty("name").GetString() == name);
}
