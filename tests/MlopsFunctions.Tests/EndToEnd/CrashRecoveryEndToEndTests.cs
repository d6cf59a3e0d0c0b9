using System.Diagnostics;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>LocalHost killed in the middle of training (a real SIGKILL), then started again: the run finishes once.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class CrashRecoveryEndToEndTests(AzuriteFixture azurite)
{
    private const string Hub = "CrashHub";
    private const string Model = "crash-flights";

    [Fact]
    public async Task A_run_killed_while_training_completes_once_within_a_minute_of_the_restart()
    {
        await using (var first = await LocalHostProcess.StartAsync(azurite.ConnectionString, Hub))
        {
            var host = LocalHostFixture.Attach(first, azurite.ConnectionString);
            await LocalHostFixture.WaitHealthyAsync(host.Http, first);
            // 20,000 rows and three trainers: training lasts a few seconds, long enough to be killed in, short enough
            // that the time after the restart measures recovery rather than training throughput.
            await host.PutSpecAsync(Model, """{"task":"regression","label":"delay","trainers":["Sdca","LightGbm","FastForest"],"gates":{"minMetric":-1}}""");
            await host.UploadAsync("incoming", $"{Model}/flights.csv", string.Join('\n', File.ReadLines(RepoPaths.FlightsSample).Take(20_001)) + "\n");
            await host.WaitForAsync($"api/models/{Model}/runs", r => r.GetProperty("runs").EnumerateArray().Any(run =>
                run.GetProperty("stage").GetString() == "training"), TimeSpan.FromSeconds(90));
            await first.KillAsync();
        }

        await using var second = await LocalHostProcess.StartAsync(azurite.ConnectionString, Hub);
        var restarted = LocalHostFixture.Attach(second, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(restarted.Http, second);
        var clock = Stopwatch.StartNew();
        var runs = await restarted.WaitForAsync($"api/models/{Model}/runs",
            r => r.GetProperty("runs").EnumerateArray().All(LocalHostFixture.IsFinished), TimeSpan.FromSeconds(120));
        var recovered = clock.Elapsed;

        var run = runs.GetProperty("runs").EnumerateArray().Single();
        Assert.Equal(("Completed", "promoted"), (run.GetProperty("runtimeStatus").GetString(), run.GetProperty("result").GetProperty("outcome").GetString()));
        var model = await restarted.GetJsonAsync($"api/models/{Model}");
        var version = Assert.Single(model.GetProperty("versions").EnumerateArray());
        Assert.Equal(1, version.GetProperty("version").GetInt32());
        Assert.Equal(1, model.GetProperty("slots").GetProperty("production").GetInt32());
        Assert.Equal(4, run.GetProperty("details").GetProperty("candidates").GetArrayLength()); // Sdca, LightGbm x2, FastForest
        Assert.True(recovered < TimeSpan.FromSeconds(60), $"the run took {recovered.TotalSeconds:F0} s to finish after the restart");
    }
}
