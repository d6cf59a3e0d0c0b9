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
    public async Task Spares_warmed_between_runs_do_the_next_runs_work_are_replaced_and_end_with_their_host()
    {
        const string Model = "spare-flights";
        await using var process = await LocalHostProcess.StartAsync(azurite.ConnectionString, "SpareHub",
            settings: new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "process", ["Mlops__SpareWorkers"] = "3" });
        var host = LocalHostFixture.Attach(process, azurite.ConnectionString);
        await LocalHostFixture.WaitHealthyAsync(host.Http, process);
        Assert.Empty(WorkerChildren.Of(process.ProcessId)); // a host that has not needed a worker keeps no spare
        await host.PutSpecAsync(Model, """{"task":"regression","label":"delay","trainers":["Sdca"],"gates":{"minMetric":-1}}""");
        var lines = File.ReadLines(RepoPaths.FlightsSample).Take(15_001).ToList();
        string Part(int k) => string.Join('\n', lines.Take(1).Concat(lines.Skip(1 + (k * 5_000)).Take(5_000))) + "\n";

        // The first run starts its validator, trainer and evaluator; three spares, one warmed for each, start once it is over.
        await RunAsync(host, "first.csv", Part(0), 1);
        var spares = await ReadySparesAsync(process.ProcessId, 3);
        Assert.Equal(["--mlops-evaluate", "--mlops-train", "--mlops-validate"], spares.Select(s => s.WarmMode).Order());

        // The second run's validator, trainer and evaluator are those spares: no worker is started for a job, and all are used up.
        var started = await WatchAsync(process.ProcessId, () => RunAsync(host, "second.csv", Part(1), 2));
        Assert.Empty(started);
        var now = WorkerChildren.Of(process.ProcessId).Select(w => w.Pid).ToList();
        Assert.All(spares, s => Assert.DoesNotContain(s.Pid, now));

        // New spares replace them. One killed while it waits is dropped: the jobs take the other two in turn (the one
        // warmed for them, else any), and the last job of the run, its evaluation, starts a worker.
        var replacements = await ReadySparesAsync(process.ProcessId, 3);
        Process.GetProcessById(replacements[0].Pid).Kill();
        started = await WatchAsync(process.ProcessId, () => RunAsync(host, "third.csv", Part(2), 3));
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

    [Fact]
    public async Task A_host_started_on_storage_with_a_model_trained_in_workers_warms_its_spares_before_any_job()
    {
        // Storage of its own: whether a host warms spares at start depends on every model in it.
        var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        try
        {
            var inWorkers = new Dictionary<string, string> { ["Mlops__TrainerProcessRows"] = "1000", ["Mlops__SpareWorkers"] = "2" };
            await using (var first = await LocalHostProcess.StartAsync(storage.ConnectionString, "WarmHub", settings: inWorkers))
            {
                var host = LocalHostFixture.Attach(first, storage.ConnectionString);
                await LocalHostFixture.WaitHealthyAsync(host.Http, first);
                await host.PutSpecAsync("warm-flights", """{"task":"regression","label":"delay","trainers":["Sdca"],"gates":{"minMetric":-1}}""");
                await host.UploadAsync("incoming", "warm-flights/flights.csv", string.Join('\n', File.ReadLines(RepoPaths.FlightsSample).Take(5_001)) + "\n");
                await host.WaitForProductionAsync("warm-flights");
            }

            // Production trained on about 3,500 rows: more than the 1,000 that send training to workers under one
            // host's settings, fewer than the default 50,000 under the other's. Only the first warms spares, at once.
            await using var untouched = await LocalHostProcess.StartAsync(storage.ConnectionString, "WarmHub");
            await using var restarted = await LocalHostProcess.StartAsync(storage.ConnectionString, "WarmHub", settings: inWorkers);
            var spares = await ReadySparesAsync(restarted.ProcessId, 2);

            Assert.Equal(["--mlops-train", "--mlops-validate"], spares.Select(s => s.WarmMode).Order());
            Assert.Contains("Starting 2 spare workers now: production warm-flights v1 trained on", restarted.Output, StringComparison.Ordinal);
            Assert.Empty(WorkerChildren.Of(untouched.ProcessId));
        }
        finally
        {
            await storage.DisposeAsync();
        }
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
