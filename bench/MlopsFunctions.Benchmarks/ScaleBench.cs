using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Benchmarks;

/// <summary>
/// The data path and the pipeline at scale, each measurement in its own process where peak memory is reported (the
/// kernel's high-water mark, VmHWM, so nothing is missed between samples):
///   data-sizes            validation + profiling throughput and peak memory at 100 and 400 MiB (issue 6)
///   pipeline [rows=N] [trainers=a,b] [polling=test|product] [isolation=auto|process|inprocess] [pause=S] [retrains=R] [restart=1] [samples=1]   upload -> production through LocalHost, on a fresh host then again: peak memory of the host and its worker
///                         children, time, the trainers' own fit time and what is left; S seconds between uploads (default 5); R more retrains after the three;
///                         restart=1: then a retrain on a new host restarted on the same storage; samples=1: the samples first, as start.sh (issue 6)
///   prepare [rows=N]      a candidate in process, cold: split files, fit, validation scoring + save (issue 6)
///   candidates            upload -> staging on 200k rows, fits timed in process and in the pipeline: overhead and
///                         parallel speed-up (issue 7)
///   recovery              kill LocalHost in each stage, restart, time to completion (issue 7)
///   window-compare        training memory on one 200k-row file vs a window of ten (issue 10)
///   training-load         predict p50/p99 at 8 clients while 2M rows train, against idle (issue 11)
/// </summary>
internal static class ScaleBench
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(string mode, Dictionary<string, string> settings) => mode switch
    {
        "data" => Data(int.Parse(settings["size"], CultureInfo.InvariantCulture)),
        "data-sizes" => await ChildrenAsync("data", [["size=100"], ["size=400"]]),
        "pipeline" => await PipelineAsync(long.Parse(settings.GetValueOrDefault("rows", "2000000"), CultureInfo.InvariantCulture),
            settings.GetValueOrDefault("trainers", "LightGbm"), settings.GetValueOrDefault("polling", "test"), settings.GetValueOrDefault("isolation", "auto"),
            double.Parse(settings.GetValueOrDefault("pause", "5"), CultureInfo.InvariantCulture),
            int.Parse(settings.GetValueOrDefault("retrains", "0"), CultureInfo.InvariantCulture), settings.GetValueOrDefault("restart", "0") == "1",
            settings.GetValueOrDefault("samples", "0") == "1"),
        "candidates" => await CandidatesAsync(),
        "download" => await DownloadAsync(long.Parse(settings.GetValueOrDefault("rows", "2000000"), CultureInfo.InvariantCulture)),
        "prepare" => Prepare(long.Parse(settings.GetValueOrDefault("rows", "2000000"), CultureInfo.InvariantCulture)),
        "idle" => await IdleAsync(),
        "recovery" => await RecoveryAsync(),
        "window" => Window(int.Parse(settings["files"], CultureInfo.InvariantCulture)),
        "window-compare" => await ChildrenAsync("window", [["files=1"], ["files=10"]]),
        "training-load" => await TrainingLoadAsync(int.Parse(settings.GetValueOrDefault("seconds", "15"), CultureInfo.InvariantCulture)),
        _ => throw new ArgumentException($"Unknown mode '{mode}'."),
    };

    /// <summary>Runs this benchmark again in child processes (one per argument set), so each reports its own peak memory.</summary>
    private static async Task<int> ChildrenAsync(string mode, string[][] runs)
    {
        foreach (var args in runs)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = false };
            info.ArgumentList.Add(typeof(ScaleBench).Assembly.Location);
            info.ArgumentList.Add(mode);
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            using var child = Process.Start(info)!;
            await child.WaitForExitAsync();
            if (child.ExitCode != 0)
            {
                return child.ExitCode;
            }
        }

        return 0;
    }

    private static int Data(int megabytes)
    {
        var file = FlightsData.BuildMegabytes(megabytes);
        var spec = new ModelSpec { Task = "regression", Label = "delay" };
        var limits = new CsvLimits(long.MaxValue, 1000, 1 << 20, 1000);

        // A host validates many files: measure it warm (the JIT's tiers settled on a 10 MiB file first), as it serves.
        using (var warm = File.OpenRead(FlightsData.BuildMegabytes(10)))
        {
            DatasetValidator.Validate(warm, new ValidationContext { Model = "bench", Source = "warm.csv", Spec = spec, Limits = limits });
        }
        var baseline = Process.GetCurrentProcess();
        var cpu = baseline.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        ValidationReport report;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        {
            (report, _) = DatasetValidator.Validate(stream, new ValidationContext { Model = "bench", Source = "bench.csv", Spec = spec, Limits = limits });
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var mib = report.Bytes / (1024.0 * 1024.0);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"validate+profile {mib,7:F1} MiB, {report.UsableRows,10:N0} rows: {seconds,5:F2} s wall ({mib / seconds,6:F1} MiB/s), " +
            $"{cpuSeconds,5:F2} s CPU ({mib / cpuSeconds,6:F1} MiB/s per core), peak RSS {Proc.PeakRssMb(Environment.ProcessId),6:F0} MiB, accepted {report.Accepted}"));
        return report.Accepted ? 0 : 1;
    }

    /// <summary>
    /// Uploads of the same size on one LocalHost: the first right after it started (its tiered JIT still compiling
    /// the host's own code, which takes CPU from the trainers), then a second model and a retrain of the first on a host
    /// that has run a pipeline before, then <paramref name="retrains"/> more retrains.
    /// </summary>
    private static async Task<int> PipelineAsync(long rows, string trainers, string polling, string isolation, double pause, int retrains, bool restart, bool samples)
    {
        await using var env = await BenchEnvironment.StartAsync();
        // "test" polls as the tests' hosts do (durable queues backing off to 0.5 s, incoming/ every 0.25 s); "product"
        // as a LocalHost started with the shipped defaults (2 s and 1 s), which is what a user waits for.
        var settings = new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = isolation };
        if (polling == "product")
        {
            settings["Mlops__MaxQueuePollingSeconds"] = "2";
            settings["LocalHost__BlobPollSeconds"] = "1";
        }

        var (host, http) = await env.StartLocalHostAsync("PipelineHub", settings);
        Console.WriteLine($"pipeline bench: Mlops__TrainerIsolation={isolation}; polling as " +
            (polling == "product" ? "shipped (durable queues back off to 2 s, incoming/ listed every 1 s)" : "in the tests (0.5 s, 0.25 s)"));
        // Between uploads the host starts its spare workers, once no worker or evaluation has run for 1 s; the four warm up
        // on 4.7 s of CPU, about 2.5 s on two cores. An upload closer than that meets no ready spare: the run stops those
        // still warming up and starts its workers cold.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pipeline bench: {pause:0.#} s between one run's end and the next upload"));
        var idle = Proc.RssMb(host.ProcessId);
        var files = Enumerable.Range(0, 3 + retrains + (restart ? 1 : 0)).Select(v => FlightsData.Build(rows, variant: v)).ToArray();
        if (samples)
        {
            // As a new user's host after scripts/start.sh: the five samples (small files, trained in the host) first.
            await SamplesAsync(env, http);
            await Task.Delay(TimeSpan.FromSeconds(pause));
        }

        await PipelineRunAsync(env, http, "flights-first", files[0], trainers,
            samples ? "first large upload, after the samples as scripts/start.sh runs them" : "first upload after the host started");
        await Task.Delay(TimeSpan.FromSeconds(pause));
        await PipelineRunAsync(env, http, "flights", files[1], trainers, "second upload (other rows), same host");
        await Task.Delay(TimeSpan.FromSeconds(pause));
        await PipelineRunAsync(env, http, "flights-first", files[2], trainers,
            "retrain of the first model (other rows; its production v1 scored on the same holdout and compared)");
        // Later retrains show a host past its warm-up: the second and third runs still pay for the tiered JIT
        // recompiling the host's code (Durable Task, storage clients) that their first use made hot.
        for (var i = 0; i < retrains; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(pause));
            await PipelineRunAsync(env, http, i % 2 == 0 ? "flights" : "flights-first", files[3 + i], trainers, $"retrain {i + 2} of a model on the same host");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"LocalHost peak RSS over all {3 + retrains} runs {Proc.PeakRssMb(host.ProcessId):F0} MiB (idle {idle:F0} MiB)"));
        if (restart)
        {
            // A host restarted (or scaled out) on the same storage, then a retrain once it has been up for a while, as
            // uploads come in production: the new host's JIT is cold, and its spares start only if it knows to.
            await host.KillAsync();
            var (again, againHttp) = await env.StartLocalHostAsync("PipelineHub", settings);
            var after = Math.Max(pause, 10);
            await Task.Delay(TimeSpan.FromSeconds(after));
            await PipelineRunAsync(env, againHttp, "flights-first", files[^1], trainers,
                string.Create(CultureInfo.InvariantCulture, $"retrain on a restarted host, {after:0.#} s after its start"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"restarted LocalHost peak RSS {Proc.PeakRssMb(again.ProcessId):F0} MiB"));
        }

        return 0;
    }

    /// <summary>Every sample spec and its data through the pipeline, as scripts/start.sh does, until each is in production.</summary>
    private static async Task SamplesAsync(BenchEnvironment env, HttpClient http)
    {
        var incoming = new BlobServiceClient(env.Connection).GetBlobContainerClient("incoming");
        var models = Directory.GetFiles(Path.Combine(MlopsFunctions.Tests.Infrastructure.RepoPaths.Root, "samples"), "*.json").Select(Path.GetFileNameWithoutExtension).ToList();
        foreach (var model in models)
        {
            var spec = await File.ReadAllTextAsync(MlopsFunctions.Tests.Infrastructure.RepoPaths.Sample(model + ".json"));
            (await http.PutAsync(new Uri($"api/models/{model}", UriKind.Relative), new StringContent(spec))).EnsureSuccessStatusCode();
            await incoming.GetBlobClient($"{model}/{model}.csv").UploadAsync(MlopsFunctions.Tests.Infrastructure.RepoPaths.SampleData(model!), overwrite: true);
        }

        var clock = Stopwatch.StartNew();
        foreach (var model in models)
        {
            await BenchEnvironment.WaitAsync(async () => await ProductionAsync(http, model!) is not null, TimeSpan.FromMinutes(10), pollMilliseconds: 500);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pipeline bench: the {models.Count} samples in production {clock.Elapsed.TotalSeconds:F1} s after their upload"));
    }

    private static async Task PipelineRunAsync(BenchEnvironment env, HttpClient http, string model, string file, string trainers, string label)
    {
        var trainerList = string.Join(',', trainers.Split(',').Select(t => $"\"{t}\""));
        // trainOn latest: every run, the retrain too, trains on the one file just uploaded (the issue's 2M rows).
        var spec = "{\"task\":\"regression\",\"label\":\"delay\",\"trainOn\":\"latest\",\"trainers\":[" + trainerList + "],\"gates\":{\"minMetric\":-1}}";
        (await http.PutAsync(new Uri($"api/models/{model}", UriKind.Relative), new StringContent(spec))).EnsureSuccessStatusCode();
        var before = await ProductionAsync(http, model);
        var earlierRun = before is null ? null : (await NewestRunAsync(http, model)).GetProperty("runId").GetString();
        var blob = new BlobServiceClient(env.Connection).GetBlobContainerClient("incoming").GetBlobClient($"{model}/flights.csv");
        var uploadClock = Stopwatch.StartNew();
        await blob.UploadAsync(file, overwrite: true);
        var upload = uploadClock.Elapsed.TotalSeconds;

        var clock = Stopwatch.StartNew();
        var uploaded = DateTimeOffset.UtcNow;
        double trainerPeak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            // Every 100 ms the children's memory, but the process list only every 0.5 s: reading every process's
            // command line ten times a second cost the run being measured a few percent of a core (perf).
            var children = new List<int>();
            for (var tick = 0; !sampling.IsCancellationRequested; tick++)
            {
                if (tick % 5 == 0)
                {
                    children = [.. Proc.Find("--mlops-")];
                }

                trainerPeak = Math.Max(trainerPeak, children.Sum(Proc.RssMb));
                await Task.Delay(100);
            }
        });
        // A new model's run ends with its first version in production; a retrain's ends when the comparison with
        // production has decided (promoted, or rejected by the minImprovement gate: same data, so a coin flip).
        await BenchEnvironment.WaitAsync(async () => before is null
            ? await ProductionAsync(http, model) is not null
            : await NewestRunAsync(http, model, allowEmpty: true) is { ValueKind: JsonValueKind.Object } r &&
              r.GetProperty("runId").GetString() != earlierRun && r.GetProperty("details").TryGetProperty("outcome", out var o) && o.ValueKind == JsonValueKind.String,
            TimeSpan.FromMinutes(20), pollMilliseconds: 500);
        var detected = clock.Elapsed.TotalSeconds;
        await sampling.CancelAsync();
        await sampler;

        // The run's own end (its record's endedAt, this machine's clock) is the time, not when polling saw it; polling
        // at 2 Hz instead of 10 Hz took 0.2-0.3 s of CPU per run off the host and Azurite (perf), which run at a
        // priority above the workers' and so slowed the run being measured.
        var run = await NewestRunAsync(http, model);
        var total = (run.GetProperty("details").GetProperty("endedAt").GetDateTimeOffset() - uploaded).TotalSeconds;
        var fits = Candidates(run).Where(c => c.FitStartedAt is not null).ToList();
        var fitWall = UnionSeconds(fits.Select(c => (c.FitStartedAt!.Value, c.FitStartedAt.Value.AddSeconds(c.FitSeconds))));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pipeline, {label}: {new FileInfo(file).Length / (1024.0 * 1024.0):F0} MiB, trainers {trainers}: upload {upload:F1} s; upload done -> {(before is null ? "production" : $"decided ({run.GetProperty("details").GetProperty("outcome").GetString()})")} {total:F1} s; " +
            $"trainers' own fit time {fitWall:F1} s (wall, union of {fits.Count} fits; sum {fits.Sum(c => c.FitSeconds):F1} s); the rest {total - fitWall:F1} s (seen by polling after {detected:F1} s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   worker child processes (validator, trainers, spares) peak {trainerPeak:F0} MiB (together, sampled every 100 ms)"));
        Console.WriteLine($"   activity timings: {JsonSerializer.Serialize(run.GetProperty("details").GetProperty("timings"))}");
        var details = run.GetProperty("details");
        var (created, started, ended) = (details.GetProperty("createdAt").GetDateTimeOffset(), details.GetProperty("startedAt").GetDateTimeOffset(),
            details.GetProperty("endedAt").GetDateTimeOffset());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   run created +{(created - uploaded).TotalSeconds:F2} s after the upload, started +{(started - uploaded).TotalSeconds:F2} s, ended +{(ended - uploaded).TotalSeconds:F2} s"));
        var all = Candidates(run).ToList();
        var first = all.Min(c => c.StartedAt!.Value);
        foreach (var c in all)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   candidate {c.Name,-18} activity +{(c.StartedAt!.Value - first).TotalSeconds,5:F1} s for {c.Seconds,5:F1} s; fit +{((c.FitStartedAt ?? first) - first).TotalSeconds,5:F1} s for {c.FitSeconds,5:F1} s"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   training stage {UnionSeconds(all.Select(c => (c.StartedAt!.Value, c.StartedAt.Value.AddSeconds(c.Seconds)))):F1} s wall"));
    }

    /// <summary>What an idle LocalHost costs: CPU over 20 s with nothing to do (timers, pollers, flushers).</summary>
    /// <summary>How fast a data file streams out of this machine's Azurite, as validation reads it (4 MiB reads).</summary>
    private static async Task<int> DownloadAsync(long rows)
    {
        var file = FlightsData.Build(rows);
        await using var env = await BenchEnvironment.StartAsync();
        var container = new BlobServiceClient(env.Connection).GetBlobContainerClient("bench");
        await container.CreateIfNotExistsAsync();
        var blob = container.GetBlobClient("flights.csv");
        await blob.UploadAsync(file, overwrite: true);
        var mib = new FileInfo(file).Length / 1048576.0;
        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            await using (var stream = await blob.OpenReadAsync(new Azure.Storage.Blobs.Models.BlobOpenReadOptions(false) { BufferSize = 4 << 20 }))
            {
                await stream.CopyToAsync(Stream.Null);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"download {mib:F0} MiB from Azurite: {clock.Elapsed.TotalSeconds:F2} s ({mib / clock.Elapsed.TotalSeconds:F0} MiB/s)"));
        }

        return 0;
    }

    /// <summary>
    /// Where a candidate's time goes outside its fit, in process and cold (no prepared rows yet): featurizing the window
    /// to the split files, the fit, scoring the validation rows and saving the model.
    /// </summary>
    private static int Prepare(long rows)
    {
        var file = FlightsData.Build(rows);
        var spec = new ModelSpec { Task = "regression", Label = "delay" };
        var limits = new CsvLimits(long.MaxValue, 1000, 1 << 20, 1000);
        var (report, _) = DatasetValidator.Validate(File.OpenRead(file), new ValidationContext { Model = "bench", Source = "bench.csv", Spec = spec, Limits = limits });
        var split = new RowSplit(0.2, 0.1, (int)(DateTime.UtcNow.Ticks % 100000));
        var featurizer = new Featurizer(report.Schema!);
        var clock = Stopwatch.StartNew();
        var path = PreparedRows.Path([file], featurizer, split, Split.Train, limits);
        var prepare = clock.Elapsed.TotalSeconds;
        var trained = CandidateTrainer.Train(new TrainingJob([file], report.Schema!, new Candidate("LightGbm", new Dictionary<string, double> { ["leaves"] = 31 }),
            split, (long)(report.UsableRows * 0.7), Math.Max(1, Environment.ProcessorCount - 1), limits));
        var total = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"prepare {report.UsableRows:N0} rows: split files {prepare:F2} s ({new FileInfo(path).Length / 1048576.0:F0} MiB train); fit {trained.FitSeconds:F2} s; " +
            $"score {trained.ValidationRows:N0} validation rows + save {total - prepare - trained.FitSeconds:F2} s; peak RSS {Proc.PeakRssMb(Environment.ProcessId):F0} MiB"));
        var model = new Microsoft.ML.MLContext().Model.Load(new MemoryStream(trained.ModelZip), out _);
        // Scoring as the evaluator does: on one cursor, then on one cursor per core (ranges of the prepared file).
        foreach (var (threads, label) in new[] { (1, "model just loaded"), (1, "warm"), (Environment.ProcessorCount, "warm"), (Environment.ProcessorCount, "warm") })
        {
            clock.Restart();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var outputs = MlopsFunctions.Core.Evaluation.ModelOutputs.Collect(model, PreparedRows.Open([file], featurizer, split, Split.Holdout, limits), trained.Schema, threads);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   score {outputs.Count:N0} holdout rows again ({label}, {threads} thread(s)): {clock.Elapsed.TotalSeconds:F2} s, CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F2} s"));
        }
        return 0;
    }

    private static async Task<int> IdleAsync()
    {
        await using var env = await BenchEnvironment.StartAsync();
        var (host, _) = await env.StartLocalHostAsync("IdleHub");
        await Task.Delay(TimeSpan.FromSeconds(5));
        var cpu = Proc.CpuSeconds(host.ProcessId);
        await Task.Delay(TimeSpan.FromSeconds(20));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"idle LocalHost: {(Proc.CpuSeconds(host.ProcessId) - cpu) / 20 * 100:F1}% of one core over 20 s"));

        // What the read routes an operator (or the dashboard) polls cost the host, per call.
        var http = (await env.StartLocalHostAsync("IdleHub2")).Http;
        (await http.PutAsync(new Uri("api/models/iris", UriKind.Relative), new StringContent("""{"task":"multiclass","label":"species"}"""))).EnsureSuccessStatusCode();
        var iris = File.ReadAllText(Path.Combine(MlopsFunctions.Tests.Infrastructure.RepoPaths.Root, "samples", "data", "iris.csv"));
        await new BlobServiceClient(env.Connection).GetBlobContainerClient("incoming").GetBlobClient("iris/iris.csv").UploadAsync(BinaryData.FromString(iris), overwrite: true);
        await BenchEnvironment.WaitAsync(async () => await ProductionAsync(http, "iris") is not null, TimeSpan.FromMinutes(5));
        var reader = Process.GetProcessesByName("dotnet").Select(p => p.Id).Where(id => id != host.ProcessId && id != Environment.ProcessId).ToList();
        foreach (var route in new[] { "api/models/iris", "api/models/iris/runs", "api/models", "api/models/iris/versions/1" })
        {
            var before = reader.Sum(Proc.CpuSeconds);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 50; i++)
            {
                (await http.GetAsync(new Uri(route, UriKind.Relative))).EnsureSuccessStatusCode();
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GET {route,-28} {clock.Elapsed.TotalMilliseconds / 50,6:F1} ms per call, host CPU {(reader.Sum(Proc.CpuSeconds) - before) * 1000 / 50,6:F1} ms per call"));
        }

        return 0;
    }

    private static async Task<int> CandidatesAsync()
    {
        var file = FlightsData.Build(200_000);
        var spec = new ModelSpec { Task = "regression", Label = "delay" };
        var limits = new CsvLimits(long.MaxValue, 1000, 1 << 20, 1000);
        var (report, _) = DatasetValidator.Validate(File.OpenRead(file), new ValidationContext { Model = "bench", Source = "bench.csv", Spec = spec, Limits = limits });
        var split = new RowSplit(0.2, 0.1, 42);
        var threads = Math.Max(1, Environment.ProcessorCount - 1);
        Console.WriteLine($"candidates, 200,000 flights rows, {threads} trainer thread(s):");
        double sequential = 0;
        foreach (var candidate in TrainerCatalog.Candidates(MlTask.Regression, null))
        {
            var trained = CandidateTrainer.Train(new TrainingJob([file], report.Schema!, candidate, split, 140_000, threads, limits));
            sequential += trained.FitSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   in process: {candidate.Name,-20} fit {trained.FitSeconds,6:F2} s, R2 {trained.ValidationMetrics["RSquared"]:F4} on {trained.TrainRows:N0} rows"));
        }

        // The same fits two at a time on dedicated threads, as the pipeline runs them: what 2 cores give the raw library.
        var pairClock = Stopwatch.StartNew();
        var pairFits = new System.Collections.Concurrent.ConcurrentBag<(string Name, double Fit)>();
        Parallel.ForEach(TrainerCatalog.Candidates(MlTask.Regression, null), new ParallelOptions { MaxDegreeOfParallelism = 2 }, candidate =>
            pairFits.Add((candidate.Name, CandidateTrainer.Train(new TrainingJob([file], report.Schema!, candidate, split, 140_000, threads, limits)).FitSeconds)));
        var pairWall = pairClock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   in process, two at a time: {string.Join(", ", pairFits.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => $"{f.Name} {f.Fit:F2} s"))}; wall {pairWall:F1} s (speed-up {sequential / pairWall:F2}x)"));

        await using var env = await BenchEnvironment.StartAsync();
        var (_, http) = await env.StartLocalHostAsync("CandidateHub", new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = "inprocess" });

        // First in a host just started (the JIT compiles ML.NET, the storage SDK and the host while it trains), then in
        // the same host again on other rows of the same size, as a host that has been running serves every later run.
        foreach (var (model, data) in new[] { ("flights-cold", FlightsData.Build(200_000, variant: 1)), ("flights", file) })
        {
            (await http.PutAsync(new Uri($"api/models/{model}", UriKind.Relative),
                new StringContent("""{"task":"regression","label":"delay","promotion":"manual","gates":{"minMetric":-1}}"""))).EnsureSuccessStatusCode();
            await new BlobServiceClient(env.Connection).GetBlobContainerClient("incoming").GetBlobClient($"{model}/flights.csv").UploadAsync(data, overwrite: true);
            var clock = Stopwatch.StartNew();
            await BenchEnvironment.WaitAsync(async () => await NewestRunAsync(http, model, allowEmpty: true) is { ValueKind: JsonValueKind.Object } newest &&
                newest.GetProperty("stage").GetString() == "awaiting-approval", TimeSpan.FromMinutes(20));
            var total = clock.Elapsed.TotalSeconds;
            var run = await NewestRunAsync(http, model);
            var candidates = Candidates(run).ToList();
            var trainingWall = UnionSeconds(candidates.Select(c => (c.StartedAt!.Value, c.StartedAt.Value.AddSeconds(c.Seconds))));
            var timings = run.GetProperty("details").GetProperty("timings").Deserialize<Dictionary<string, double>>(Web)!;
            var work = trainingWall + timings.Where(t => t.Key is not ("training" or "promoting")).Sum(t => t.Value);
            Console.WriteLine($"   {(model == "flights" ? "warm host" : "cold host (just started)")}:");
            foreach (var c in candidates)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   in the pipeline: {c.Name,-20} fit {c.FitSeconds,6:F2} s, activity {c.Seconds,6:F2} s, R2 {c.Value:F4} on {c.TrainRows:N0} rows"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   upload -> staging {total:F1} s; activities' work {work:F1} s (training stage {trainingWall:F1} s wall + {string.Join(", ", timings.Select(t => $"{t.Key} {t.Value:F2}"))}); " +
                $"orchestration overhead {total - work:F1} s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   parallel speed-up: sequential fit sum in process {sequential:F1} s vs training stage {trainingWall:F1} s wall = {sequential / trainingWall:F2}x on {Environment.ProcessorCount} cores " +
                $"(fit sum inside the pipeline {candidates.Sum(c => c.FitSeconds):F1} s)"));
        }

        return 0;
    }

    private static async Task<int> RecoveryAsync()
    {
        var file = FlightsData.Build(200_000);
        await using var env = await BenchEnvironment.StartAsync();
        string[] stages = ["validating", "preparing", "training", "evaluating", "registering", "staging", "promoting"];
        Console.WriteLine("recovery after a SIGKILL of LocalHost, 200,000 flights rows (LocalHost__RecoverySeconds 20):");
        foreach (var target in stages)
        {
            var model = $"kill-{target}";
            var (first, http) = await env.StartLocalHostAsync("RecoveryHub");
            (await http.PutAsync(new Uri($"api/models/{model}", UriKind.Relative),
                new StringContent("""{"task":"regression","label":"delay","trainers":["LightGbm","FastTree"],"gates":{"minMetric":-1}}"""))).EnsureSuccessStatusCode();
            await new BlobServiceClient(env.Connection).GetBlobContainerClient("incoming").GetBlobClient($"{model}/flights.csv").UploadAsync(file, overwrite: true);
            string? seen = null;
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromMinutes(5))
            {
                var runs = (await http.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{model}/runs", UriKind.Relative))).GetProperty("runs");
                seen = runs.GetArrayLength() > 0 ? runs[0].GetProperty("stage").GetString() : null;
                if (seen == target || (seen is not null && Array.IndexOf(stages, seen) > Array.IndexOf(stages, target)) || seen == "done")
                {
                    break;
                }

                await Task.Delay(10);
            }

            await first.KillAsync();
            var (_, restarted) = await env.StartLocalHostAsync("RecoveryHub");
            var clock = Stopwatch.StartNew();
            await BenchEnvironment.WaitAsync(async () =>
                (await restarted.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{model}/runs", UriKind.Relative))).GetProperty("runs")
                .EnumerateArray().All(r => r.GetProperty("status").GetString() is "completed" or "failed"), TimeSpan.FromMinutes(5));
            var recovered = clock.Elapsed.TotalSeconds;
            var state = await restarted.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{model}", UriKind.Relative));
            var outcome = (await NewestRunAsync(restarted, model)).GetProperty("result").GetProperty("outcome").GetString();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   killed in {seen,-12} (aimed at {target,-12}): finished {recovered,5:F1} s after the restart, outcome {outcome}, " +
                $"{state.GetProperty("versions").GetArrayLength()} version(s), production v{state.GetProperty("slots").GetProperty("production")}"));
        }

        return 0;
    }

    private static int Window(int files)
    {
        var paths = Enumerable.Range(0, files).Select(i => FlightsData.Build(200_000, variant: i)).ToList();
        var spec = new ModelSpec { Task = "regression", Label = "delay" };
        var limits = new CsvLimits(long.MaxValue, 1000, 1 << 20, 1000);
        var (report, _) = DatasetValidator.Validate(File.OpenRead(paths[0]), new ValidationContext { Model = "bench", Source = "bench.csv", Spec = spec, Limits = limits });
        var afterValidation = Proc.PeakRssMb(Environment.ProcessId);
        var clock = Stopwatch.StartNew();
        var (perFile, profile) = WindowProfiler.Scan(paths, report.Schema!, limits, 42);
        var scan = clock.Elapsed.TotalSeconds;
        var afterScan = Proc.PeakRssMb(Environment.ProcessId);
        var trained = CandidateTrainer.Train(new TrainingJob(paths, report.Schema!, new Candidate("LightGbm", new Dictionary<string, double> { ["leaves"] = 31 }),
            new RowSplit(0.2, 0.1, 42), (long)(profile.UsableRows * 0.7), Math.Max(1, Environment.ProcessorCount - 1), limits));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"window of {files,2} file(s), {perFile.Sum(),10:N0} rows: scan (dedupe + profile) {scan,5:F1} s, peak RSS {afterScan,5:F0} MiB (validation alone {afterValidation:F0}); " +
            $"LightGbm on {trained.TrainRows:N0} training rows, fit {trained.FitSeconds:F1} s, peak RSS {Proc.PeakRssMb(Environment.ProcessId),5:F0} MiB"));
        return 0;
    }

    private static async Task<int> TrainingLoadAsync(int seconds)
    {
        var file = FlightsData.Build(2_000_000);
        var iris = File.ReadAllText(Path.Combine(MlopsFunctions.Tests.Infrastructure.RepoPaths.Root, "samples", "data", "iris.csv"));
        Console.WriteLine($"predict at 8 clients (wrk, {seconds} s), iris model, while 2,000,000 flights rows train (LightGbm x2, FastTree x2), against idle:");
        foreach (var (name, isolation) in new[] { ("all host, training in process", "inprocess"), ("all host, training in a child process", "process") })
        {
            await using var env = await BenchEnvironment.StartAsync();
            var (host, http) = await env.StartLocalHostAsync("LoadHub", new Dictionary<string, string> { ["Mlops__TrainerIsolation"] = isolation });
            await MeasureAsync(name, env, http, http, host.BaseAddress, host.MasterKey, iris, file, seconds);
        }

        await using (var env = await BenchEnvironment.StartAsync())
        {
            var (pipeline, pipelineHttp) = await env.StartLocalHostAsync("LoadHub", role: "pipeline");
            var (serving, servingHttp) = await env.StartLocalHostAsync("LoadHub", role: "serving");
            await MeasureAsync("serving host + pipeline host (same 2 cores)", env, pipelineHttp, servingHttp, serving.BaseAddress, serving.MasterKey, iris, file, seconds);
            _ = pipeline;
        }

        return 0;
    }

    private static async Task MeasureAsync(
        string name, BenchEnvironment env, HttpClient pipeline, HttpClient serving, Uri servingBase, string key, string iris, string file, int seconds)
    {
        var incoming = new BlobServiceClient(env.Connection).GetBlobContainerClient("incoming");
        await incoming.CreateIfNotExistsAsync();
        (await pipeline.PutAsync(new Uri("api/models/iris", UriKind.Relative), new StringContent("""{"task":"multiclass","label":"species"}"""))).EnsureSuccessStatusCode();
        await incoming.GetBlobClient("iris/iris.csv").UploadAsync(BinaryData.FromString(iris), overwrite: true);
        await BenchEnvironment.WaitAsync(async () => await ProductionAsync(serving, "iris") is not null, TimeSpan.FromMinutes(3));
        var url = $"{servingBase}api/models/iris/predict";
        await BenchEnvironment.WaitAsync(async () => (await serving.PostAsync(new Uri(url), new StringContent(Wrk.IrisRow))).IsSuccessStatusCode, TimeSpan.FromSeconds(30));
        await Wrk.RunAsync(url, key, 8, 3); // warm-up
        var idle = await Wrk.RunAsync(url, key, 8, seconds);

        (await pipeline.PutAsync(new Uri("api/models/flights", UriKind.Relative),
            new StringContent("""{"task":"regression","label":"delay","trainers":["LightGbm","FastTree"],"gates":{"minMetric":-1}}"""))).EnsureSuccessStatusCode();
        await incoming.GetBlobClient("flights/flights.csv").UploadAsync(file, overwrite: true);
        await BenchEnvironment.WaitAsync(async () =>
            await NewestRunAsync(pipeline, "flights", allowEmpty: true) is { ValueKind: JsonValueKind.Object } run &&
            run.TryGetProperty("stage", out var stage) && stage.GetString() == "training", TimeSpan.FromMinutes(5));
        var busy = await Wrk.RunAsync(url, key, 8, seconds);
        var still = (await NewestRunAsync(pipeline, "flights")).GetProperty("stage").GetString();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   {name,-45} idle p50 {idle.P50Ms,6:F2} ms p99 {idle.P99Ms,7:F2} ms {idle.Rps,7:F0} req/s | training p50 {busy.P50Ms,6:F2} ms p99 {busy.P99Ms,7:F2} ms " +
            $"{busy.Rps,7:F0} req/s | p99 {busy.P99Ms / idle.P99Ms:F1}x idle (stage after the load: {still}; non-2xx {idle.Errors + busy.Errors})"));
        await BenchEnvironment.WaitAsync(async () => (await NewestRunAsync(pipeline, "flights")).GetProperty("status").GetString() is "completed" or "failed", TimeSpan.FromMinutes(20));
    }

    private static async Task<int?> ProductionAsync(HttpClient http, string model)
    {
        using var response = await http.GetAsync(new Uri($"api/models/{model}", UriKind.Relative));
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return json.GetProperty("slots").TryGetProperty("production", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt32() : null;
    }

    private static async Task<JsonElement> NewestRunAsync(HttpClient http, string model, bool allowEmpty = false)
    {
        var runs = (await http.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{model}/runs", UriKind.Relative))).GetProperty("runs");
        return runs.GetArrayLength() > 0 || !allowEmpty ? runs[0] : default;
    }

    private static List<CandidateTiming> Candidates(JsonElement run) =>
        run.GetProperty("details").GetProperty("candidates").Deserialize<List<CandidateTiming>>(Web)!;

    /// <summary>Seconds covered by the union of intervals (overlapping fits count once).</summary>
    private static double UnionSeconds(IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> intervals)
    {
        double total = 0;
        DateTimeOffset? start = null, end = null;
        foreach (var (s, e) in intervals.OrderBy(i => i.Start))
        {
            if (end is null || s > end)
            {
                total += end is null ? 0 : (end.Value - start!.Value).TotalSeconds;
                (start, end) = (s, e);
            }
            else if (e > end)
            {
                end = e;
            }
        }

        return total + (end is null ? 0 : (end.Value - start!.Value).TotalSeconds);
    }

    private sealed record CandidateTiming(string Name, double FitSeconds, double Seconds, DateTimeOffset? StartedAt, DateTimeOffset? FitStartedAt, double? Value = null, long TrainRows = 0);
}
