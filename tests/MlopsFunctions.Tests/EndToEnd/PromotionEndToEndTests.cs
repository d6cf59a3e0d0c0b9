using System.Globalization;
using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Manual promotion, champion comparison, swap and rollback through LocalHost, with predictions following every move.</summary>
[Collection(LocalHostCollection.Name)]
public sealed class PromotionEndToEndTests(LocalHostFixture host)
{
    private const string Model = "iris-manual";

    [Fact]
    public async Task Operators_approve_reject_swap_and_roll_back_while_predictions_follow()
    {
        await host.PutSpecAsync(Model, """{"task":"multiclass","label":"species","gates":{"minMetric":0.8},"promotion":"manual"}""");
        var iris = LocalHostFixture.ReadSample("iris");
        await host.UploadAsync("incoming", $"{Model}/v1.csv", iris);

        // v1 waits in staging; production is empty until someone approves.
        await WaitForVersionStatusAsync(1, "awaiting-approval");
        await WaitForRunStageAsync("awaiting-approval");
        Assert.Equal(404, (await Predict()).Status);
        Assert.Equal("1", (await Predict("staging")).Version);
        Assert.Equal(202, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/versions/1/approve")).Status);
        await host.WaitForProductionAsync(Model);
        Assert.Equal("1", (await Predict()).Version);

        // v2 has no sepal_width (the spec now ignores it), so production v1 cannot be scored on its rows: the run
        // fails closed and waits for an operator, who rejects it.
        await host.PutSpecAsync(Model, """{"task":"multiclass","label":"species","gates":{"minMetric":0.8},"promotion":"manual","ignore":["sepal_width"]}""");
        await host.UploadAsync("incoming", $"{Model}/v2.csv", DropColumn(iris, 1));
        var v2 = await WaitForVersionStatusAsync(2, "awaiting-approval");
        Assert.Contains(v2.GetProperty("gates").EnumerateArray(), g =>
            g.GetProperty("gate").GetString() == "minImprovement" && g.GetProperty("reason").GetString()!.Contains("cannot be scored", StringComparison.Ordinal));
        Assert.Equal(1, v2.GetProperty("champion").GetInt32());
        Assert.Equal(202, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/versions/2/reject?reason=worse")).Status);
        var declined = await WaitForVersionStatusAsync(2, "declined");
        Assert.Contains("worse", declined.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(409, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/versions/2/approve")).Status);
        var slots = (await host.GetJsonAsync($"api/models/{Model}")).GetProperty("slots");
        Assert.Equal(1, slots.GetProperty("production").GetInt32());
        Assert.False(slots.TryGetProperty("staging", out _));

        // v3 is approved: staging and production swap, so v1 waits in staging.
        await host.PutSpecAsync(Model, """{"task":"multiclass","label":"species","gates":{"minMetric":0.8},"promotion":"manual","ignore":["sepal_length"]}""");
        await host.UploadAsync("incoming", $"{Model}/v3.csv", DropColumn(iris, 0));
        await WaitForVersionStatusAsync(3, "awaiting-approval");
        Assert.Equal(202, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/versions/3/approve")).Status);
        await host.WaitForProductionAsync(Model, not: 1);
        Assert.Equal("3", (await Predict()).Version);

        // Swap back and forth, then roll back: each answer comes from the version the slot now holds.
        Assert.Equal(1, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/swap")).Body.GetProperty("production").GetInt32());
        Assert.Equal("1", (await Predict()).Version);
        Assert.Equal("3", (await Predict("staging")).Version);
        var rollback = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/rollback");
        Assert.Equal((200, 3), (rollback.Status, rollback.Body.GetProperty("production").GetInt32()));
        Assert.Equal("3", (await Predict()).Version);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/rollback")).Status);
        Assert.Equal("1", (await Predict()).Version);
        Assert.Equal(409, (await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/rollback")).Status);

        var history = (await host.GetJsonAsync($"api/models/{Model}")).GetProperty("history").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Equal(["rollback", "rollback", "swap", "swap", "stage", "unstage", "stage", "swap", "stage"], history);
    }

    private async Task<(int Status, string? Version)> Predict(string slot = "production")
    {
        var (status, body) = await host.SendAsync(HttpMethod.Post, $"api/models/{Model}/predict?slot={slot}",
            """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""");
        return (status, status == 200 ? body.GetProperty("version").GetString() : null);
    }

    private async Task<JsonElement> WaitForVersionStatusAsync(int version, string status) =>
        (await host.WaitForAsync($"api/models/{Model}/versions/{version.ToString(CultureInfo.InvariantCulture)}",
            v => v.GetProperty("version").GetProperty("status").GetString() == status)).GetProperty("version");

    private Task<JsonElement> WaitForRunStageAsync(string stage) =>
        host.WaitForAsync($"api/models/{Model}/runs", r => r.GetProperty("runs").EnumerateArray().Any(run =>
            run.TryGetProperty("stage", out var s) && s.GetString() == stage && run.GetProperty("runtimeStatus").GetString() == "Running"));

    private static string DropColumn(string csv, int column) => string.Join('\n', csv.Split('\n')
        .Where(l => l.Length > 0)
        .Select(l => string.Join(',', l.Trim().Split(',').Where((_, i) => i != column))));
}
