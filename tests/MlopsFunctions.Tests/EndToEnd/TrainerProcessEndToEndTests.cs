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
        // No spares: the trainer must be a child started for its job, which the test can tell from the spares.
        await using var process = await LocalHostProcess.StartAsync(azurite.ConnectionString, "TrainerHub",
            settings: new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "process", ["Mlops__SpareWorkers"] = "0" });
        var host = LocalHostFixture.Attach(process, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(host.Http, process);
        await host.PutSpecAsync(Model, """{"task":"regression","label":"delay","trainers":["Sdca","LightGbm"],"gates":{"minMetric":-1}}""");
        await host.UploadAsync("incoming", $"{Model}/flights.csv", string.Join('\n', File.ReadLines(RepoPaths.FlightsSample).Take(20_001)) + "\n");

        var killed = await KillFirstTrainerAsync(process.ProcessId, TimeSpan.FromSeconds(90));

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

    [Fact]
    public async Task Spares_warmed_at_start_do_the_first_runs_work_are_replaced_and_end_with_their_host()
    {
        const string Model = "spare-flights";
        await using var process = await LocalHostProcess.StartAsync(azurite.ConnectionString, "SpareHub",
            settings: new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "process", ["Mlops__SpareWorkers"] = "3" });
        var host = LocalHostFixture.Attach(process, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(host.Http, process);

        // Before any job and before any model exists, one spare is warmed for each of a run's jobs; a host told to keep
        // none, and a serving host, which never runs one, start none. (Both stop before the runs, which they would share.)
        List<WorkerChildren.Worker> spares;
        await using (var none = await LocalHostProcess.StartAsync(azurite.ConnectionString, "SpareHub",
            settings: new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "process", ["Mlops__SpareWorkers"] = "0" }))
        await using (var serving = await LocalHostProcess.StartAsync(azurite.ConnectionString, "SpareHub",
            role: "serving", settings: new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "process" }))
        {
            spares = await ReadySparesAsync(process.ProcessId, 3);
            Assert.Equal(["--mlops-evaluate", "--mlops-train", "--mlops-validate"], spares.Select(s => s.WarmMode).Order());
            Assert.Contains("Starting 3 spare workers", process.Output, StringComparison.Ordinal);
            await LocalHostFixture.WaitHealthyAsync(LocalHostFixture.Attach(none, azurite.ConnectionString).Http, none);
            Assert.Empty(WorkerChildren.Of(none.ProcessId));
            Assert.Empty(WorkerChildren.Of(serving.ProcessId));
        }

        // The first run's validator, trainer and evaluator are those spares: no worker is started for a job, and all are used up.
        await host.PutSpecAsync(Model, """{"task":"regression","label":"delay","trainers":["Sdca"],"gates":{"minMetric":-1}}""");
        var lines = File.ReadLines(RepoPaths.FlightsSample).Take(10_001).ToList();
        string Part(int k) => string.Join('\n', lines.Take(1).Concat(lines.Skip(1 + (k * 5_000)).Take(5_000))) + "\n";
        var started = await WatchAsync(process.ProcessId, () => RunAsync(host, "first.csv", Part(0), 1));
        Assert.Empty(started);
        var now = WorkerChildren.Of(process.ProcessId).Select(w => w.Pid).ToList();
        Assert.All(spares, s => Assert.DoesNotContain(s.Pid, now));

        // New spares replace them. One killed while it waits is dropped: the jobs take the other two in turn (the one
        // warmed for them, else any), and the last job of the run, its evaluation, starts a worker.
        var replacements = await ReadySparesAsync(process.ProcessId, 3);
        Process.GetProcessById(replacements[0].Pid).Kill();
        started = await WatchAsync(process.ProcessId, () => RunAsync(host, "second.csv", Part(1), 2));
        Assert.Equal(["--mlops-evaluate"], started.Select(w => w.Args[^2]).Distinct());

        // Spares end with their host, even when it is killed.
        var last = await ReadySparesAsync(process.ProcessId, 3);
        await process.KillAsync();
        var clock = Stopwatch.StartNew();
        while (last.Any(w => IsAlive(w.Pid)) && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.DoesNotContain(last, w => IsAlive(w.Pid));
    }

    private static async Task RunAsync(LocalHostFixture host, string file, string content, int runs)
    {
        await host.UploadAsync("incoming", $"spare-flights/{file}", content);
        var all = await host.WaitForAsync("api/models/spare-flights/runs",
            r => r.GetProperty("runs").GetArrayLength() == runs && r.GetProperty("runs").EnumerateArray().All(LocalHostFixture.IsFinished),
            TimeSpan.FromSeconds(120));
        var run = all.GetProperty("runs").EnumerateArray().First(r => r.GetProperty("input").GetProperty("source").GetString() == $"incoming/spare-flights/{file}");
        Assert.NotEqual("failed", run.GetProperty("result").GetProperty("outcome").GetString());
        Assert.All(run.GetProperty("details").GetProperty("candidates").EnumerateArray(), c => Assert.False(c.TryGetProperty("error", out _), c.ToString()));
        if (runs > 1)
        {
            // The evaluator child scored production on the same holdout rows and bounded the improvement.
            var version = run.GetProperty("result").GetProperty("version").GetInt32();
            var record = (await host.GetJsonAsync($"api/models/spare-flights/versions/{version}")).GetProperty("version");
            Assert.True(record.GetProperty("champion").GetInt32() < version);
            var gate = record.GetProperty("gates").EnumerateArray().Single(g => g.GetProperty("gate").GetString() == "minImprovement");
            Assert.False(gate.TryGetProperty("reason", out var reason) && reason.GetString()!.Contains("cannot", StringComparison.Ordinal), gate.ToString());
        }
    }

    /// <summary>Waits until the host has <paramref name="count"/> spares that finished their warm-up.</summary>
    private static async Task<List<WorkerChildren.Worker>> ReadySparesAsync(int host, int count)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var ready = WorkerChildren.Of(host).Where(w => w.IsReadySpare).ToList();
            if (ready.Count == count)
            {
                return ready;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException($"The host did not get {count} ready spares: {string.Join(", ", WorkerChildren.Of(host).Select(w => string.Join(' ', w.Args)))}");
    }

    /// <summary>Runs <paramref name="work"/> while sampling the host's children every 25 ms; returns the workers started for a job (not spares).</summary>
    private static async Task<List<WorkerChildren.Worker>> WatchAsync(int host, Func<Task> work)
    {
        var started = new Dictionary<int, WorkerChildren.Worker>();
        using var stop = new CancellationTokenSource();
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var worker in WorkerChildren.Of(host).Where(w => !w.IsSpare))
                {
                    started.TryAdd(worker.Pid, worker);
                }

                await Task.Delay(25);
            }
        });
        await work();
        await stop.CancelAsync();
        await sampling;
        return [.. started.Values];
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits for a child of this host training a candidate (started with --mlops-train; a spare only names the mode it
    /// warms up, and another host's children are not ours to kill) and kills it with SIGKILL; returns its pid.
    /// </summary>
    private static async Task<int> KillFirstTrainerAsync(int host, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var trainer = WorkerChildren.Of(host).Find(w => !w.IsSpare && w.Args.Contains("--mlops-train"));
            if (trainer is not null)
            {
                Process.GetProcessById(trainer.Pid).Kill();
                return trainer.Pid;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException("No trainer process appeared.");
    }
}
