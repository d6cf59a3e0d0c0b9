using System.Diagnostics;
using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>Training in a child process: killing the trainer (as the OOM killer would) fails the activity cleanly and a retry finishes the run.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TrainerProcessEndToEndTests(AzuriteFixture azurite)
{
    private const string Model = "child-flights";

    [Fact]
    public async Task A_killed_trainer_process_fails_its_activity_and_the_retry_completes_the_run_with_one_version()
    {
        await using var process = await LocalHostProcess.StartAsync(azurite.ConnectionString, "TrainerHub",
            settings: new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "process" });
        var host = LocalHostFixture.Attach(process, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(host.Http, process);
        await host.PutSpecAsync(Model, """{"task":"regression","label":"delay","trainers":["Sdca","LightGbm"],"gates":{"minMetric":-1}}""");
        await host.UploadAsync("incoming", $"{Model}/flights.csv", string.Join('\n', File.ReadLines(RepoPaths.FlightsSample).Take(20_001)) + "\n");

        var killed = await KillFirstTrainerAsync(TimeSpan.FromSeconds(90));

        var runs = await host.WaitForAsync($"api/models/{Model}/runs", r => r.GetProperty("runs").EnumerateArray().All(LocalHostFixture.IsFinished),
            TimeSpan.FromSeconds(120));
        var run = runs.GetProperty("runs").EnumerateArray().Single();
        Assert.Equal("promoted", run.GetProperty("result").GetProperty("outcome").GetString());
        Assert.All(run.GetProperty("details").GetProperty("candidates").EnumerateArray(), c => Assert.False(c.TryGetProperty("error", out _), c.ToString()));
        Assert.Single((await host.GetJsonAsync($"api/models/{Model}")).GetProperty("versions").EnumerateArray());
        Assert.Contains("trainer process ended with exit code", process.Output, StringComparison.Ordinal);
        Assert.True(killed > 0);
        Assert.False(process.HasExited, "the host must survive its trainer's death");
    }

    [Fact]
    public async Task A_file_validated_in_a_worker_process_that_breaks_a_limit_midway_is_rejected_with_its_report()
    {
        const string Model = "child-validated";
        await using var process = await LocalHostProcess.StartAsync(azurite.ConnectionString, "ValidatorHub",
            settings: new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "process", ["Mlops__MaxLineKilobytes"] = "1" });
        var host = LocalHostFixture.Attach(process, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(host.Http, process);
        await host.PutSpecAsync(Model, """{"task":"regression","label":"delay"}""");
        // A line over 1 KiB near the top, then about 1 MB the worker never reads: it stops at the limit and the host's
        // copy into its input ends with a broken pipe, which must not fail the validation.
        var lines = File.ReadLines(RepoPaths.FlightsSample).Take(50_001).ToList();
        lines.Insert(10, "1," + new string('9', 2_000) + ",0.0");
        await host.UploadAsync("incoming", $"{Model}/long.csv", string.Join('\n', lines) + "\n");

        var report = JsonDocument.Parse(await host.WaitForBlobAsync("rejected", $"{Model}/long.csv.report.json")).RootElement;
        Assert.False(report.GetProperty("accepted").GetBoolean());
        Assert.Contains(report.GetProperty("anomalies").EnumerateArray(), a => a.GetProperty("code").GetString() == "line-too-long");
        Assert.Contains($"Validating incoming/{Model}/long.csv for {Model}", process.Output, StringComparison.Ordinal);
        Assert.False(process.HasExited);
    }

    /// <summary>Waits for a trainer child (its command line has --mlops-train) and kills it with SIGKILL; returns its pid.</summary>
    private static async Task<int> KillFirstTrainerAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            using var find = Process.Start(new ProcessStartInfo("pgrep", ["-f", "--", "--mlops-train"]) { RedirectStandardOutput = true })!;
            var pids = (await find.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            await find.WaitForExitAsync();
            if (pids.Length > 0 && int.TryParse(pids[0], out var pid))
            {
                Process.GetProcessById(pid).Kill();
                return pid;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException("No trainer process appeared.");
    }
}
