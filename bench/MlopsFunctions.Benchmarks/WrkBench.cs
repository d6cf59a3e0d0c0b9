using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Benchmarks;

/// <summary>
/// HTTP predict under load, in one run: LocalHost (capture on, the spec default; and capture off, to price it) against
/// a bare minimal API serving the same iris model with pooled engines, with wrk at 1, 8 and 64 connections, each
/// measurement repeated in interleaved rounds (each starting with another target) so background load hits all three
/// alike; then a 1,000-row batch's round trip. control=1 adds a second capture-off model, priced like capture: what
/// that A/A "cost" spreads over is the noise floor of the capture cost on this machine.
///   bench/wrk-predict.sh [seconds=10] [rounds=2] [clients=1,8,64] [control=0|1]
/// </summary>
internal static partial class WrkBench
{
    private const string Row = Wrk.IrisRow;

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = args.Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        var seconds = int.Parse(settings.GetValueOrDefault("seconds", "10"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(settings.GetValueOrDefault("rounds", "2"), CultureInfo.InvariantCulture);
        int[] clients = [.. settings.GetValueOrDefault("clients", "1,8,64").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))];
        var control = settings.GetValueOrDefault("control", "0") == "1";
        string[] models = control ? ["iris-capture", "iris-nocapture", "iris-control"] : ["iris-capture", "iris-nocapture"];

        await using var env = await BenchEnvironment.StartAsync();
        var connection = env.Connection;
        var azurite = env.Azurite;
        var (host, http) = await env.StartLocalHostAsync("WrkHub");

        var iris = File.ReadAllText(Path.Combine(RepoPaths.Root, "samples", "data", "iris.csv"));
        var incoming = new BlobServiceClient(connection).GetBlobContainerClient("incoming");
        await incoming.CreateIfNotExistsAsync();
        foreach (var (model, rate) in models.Select(m => (m, m == "iris-capture" ? 1.0 : 0.0)))
        {
            var spec = """{"task":"multiclass","label":"species","monitoring":{"captureRate":""" + rate.ToString(CultureInfo.InvariantCulture) + "}}";
            (await http.PutAsync(new Uri($"api/models/{model}", UriKind.Relative), new StringContent(spec))).EnsureSuccessStatusCode();
            await incoming.GetBlobClient($"{model}/iris.csv").UploadAsync(BinaryData.FromString(iris), overwrite: true);
        }

        foreach (var model in models)
        {
            await BenchEnvironment.WaitAsync(async () => (await http.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{model}", UriKind.Relative)))
                .GetProperty("slots").TryGetProperty("production", out _), TimeSpan.FromMinutes(3));
        }

        var barePort = ChildProcess.FreePort();
        var benchDll = typeof(WrkBench).Assembly.Location;
        await using var bare = ChildProcess.Start("dotnet", [benchDll, "serve-bare", $"{barePort}", connection, "iris-capture"]);
        await ChildProcess.WaitForPortAsync(barePort, TimeSpan.FromSeconds(60), bare);

        var targets = new (string Name, string Url, int Pid)[]
        {
            ("bare minimal API", $"http://127.0.0.1:{barePort}/predict", bare.Id),
            ("LocalHost, capture on", $"{host.BaseAddress}api/models/iris-capture/predict", host.ProcessId),
            ("LocalHost, capture off", $"{host.BaseAddress}api/models/iris-nocapture/predict", host.ProcessId),
        };
        if (control)
        {
            targets = [.. targets, ("LocalHost, off (control)", $"{host.BaseAddress}api/models/iris-control/predict", host.ProcessId)];
        }

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores (shared), {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}; wrk {seconds} s per run, {rounds} rounds, interleaved");
        foreach (var (_, url, _) in targets)
        {
            await Wrk.RunAsync(url, host.MasterKey, 8, 3); // warm-up: JIT, tiering, engine pools
        }

        var results = new Dictionary<(string, int), List<WrkResult>>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var c in clients)
            {
                // Each round starts with another target: whatever runs right after another process had the CPU (the
                // first after a pause) would otherwise always be the same one.
                foreach (var (name, url, pid) in targets.Skip((round - 1) % targets.Length).Concat(targets.Take((round - 1) % targets.Length)))
                {
                    var (server, storage) = (Proc.CpuSeconds(pid), Proc.CpuSeconds(azurite.Id));
                    var result = await Wrk.RunAsync(url, host.MasterKey, c, seconds);
                    var requests = result.Rps * seconds;
                    result = result with
                    {
                        ServerCpuUs = (Proc.CpuSeconds(pid) - server) / requests * 1e6,
                        StorageCpuUs = (Proc.CpuSeconds(azurite.Id) - storage) / requests * 1e6,
                    };
                    (results.TryGetValue((name, c), out var list) ? list : results[(name, c)] = []).Add(result);
                    Console.WriteLine($"   round {round}, {c,2} clients, {name,-24} {result.Rps,9:F0} req/s  p50 {result.P50Ms,6:F3} ms  p99 {result.P99Ms,6:F3} ms  " +
                        $"server CPU {result.ServerCpuUs,5:F1} us/req  Azurite CPU {result.StorageCpuUs,5:F1} us/req  non-2xx {result.Errors}");
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("clients | bare req/s | LocalHost capture on req/s (ratio) | capture off req/s (ratio) | capture cost | p50/p99 ms bare | p50/p99 ms capture on");
        foreach (var c in clients)
        {
            var b = Median(results[(targets[0].Name, c)]);
            var on = Median(results[(targets[1].Name, c)]);
            var off = Median(results[(targets[2].Name, c)]);
            Console.WriteLine($"{c,7} | {b.Rps,10:F0} | {on.Rps,10:F0} ({on.Rps / b.Rps:F2}x) | {off.Rps,10:F0} ({off.Rps / b.Rps:F2}x) | {1 - (on.Rps / off.Rps):P1} | {b.P50Ms:F3}/{b.P99Ms:F3} | {on.P50Ms:F3}/{on.P99Ms:F3}");
        }

        Console.WriteLine("(median of the rounds by throughput; every run is listed above)");
        Console.WriteLine();

        // Paired: each round's capture-on run against that round's capture-off run, minutes apart at most, so slow
        // drifts of the machine cancel; the median and the spread of those per-round costs.
        Console.WriteLine("capture cost per round (1 - on/off of the same round): median [min .. max]" + (control ? "; control (1 - control/off), the noise floor" : string.Empty));
        foreach (var c in clients)
        {
            string Paired(string name)
            {
                var costs = results[(name, c)].Zip(results[(targets[2].Name, c)], (a, off) => 1 - (a.Rps / off.Rps)).Order().ToList();
                return $"{costs[costs.Count / 2]:P1} [{costs[0]:P1} .. {costs[^1]:P1}]";
            }

            Console.WriteLine($"{c,7} | capture {Paired(targets[1].Name)}" + (control ? $" | control {Paired(targets[3].Name)}" : string.Empty));
        }
        Console.WriteLine();
        Console.WriteLine("CPU per request (less sensitive to other load than req/s): server process, and Azurite (storage writes of capture)");
        foreach (var c in clients)
        {
            var line = string.Join(" | ", targets.Select(t => (t.Name, Runs: results[(t.Name, c)]))
                .Select(t => $"{t.Name}: {t.Runs.Min(r => r.ServerCpuUs):F1} us + Azurite {t.Runs.Min(r => r.StorageCpuUs):F1} us"));
            Console.WriteLine($"{c,7} | {line}");
        }

        // What capture costs in CPU, split by who pays it: the host (what a Functions instance pays, storage being
        // remote there) and Azurite (which only shares the cores on this box), as medians over the rounds.
        Console.WriteLine("capture's CPU per request (medians over the rounds): LocalHost's own, and Azurite's, as shares of a capture-off request");
        foreach (var c in clients)
        {
            double MedianOf(string name, Func<WrkResult, double> value) => results[(name, c)].Select(value).Order().ElementAt(results[(name, c)].Count / 2);
            var (onHost, offHost) = (MedianOf(targets[1].Name, r => r.ServerCpuUs), MedianOf(targets[2].Name, r => r.ServerCpuUs));
            var (onStorage, offStorage) = (MedianOf(targets[1].Name, r => r.StorageCpuUs), MedianOf(targets[2].Name, r => r.StorageCpuUs));
            Console.WriteLine($"{c,7} | LocalHost {onHost - offHost:+0.0;-0.0} us ({(onHost - offHost) / offHost:P1}) | Azurite {onStorage - offStorage:+0.0;-0.0} us ({(onStorage - offStorage) / offHost:P1})");
        }

        var batch = "[" + string.Join(',', Enumerable.Repeat(Row, 1000)) + "]";
        foreach (var (name, url, _) in targets.Take(2))
        {
            var times = await BatchAsync(url, host.MasterKey, batch, 40);
            Console.WriteLine($"1,000-row batch, {name}: round trip p50 {times[times.Count / 2]:F2} ms, p90 {times[times.Count * 9 / 10]:F2} ms (40 sequential requests on loopback)");
        }

        await ShadowAsync(http, host.BaseAddress, host.MasterKey, host.ProcessId, incoming, iris, seconds, rounds);
        await InProcessCost.RunAsync(connection, "iris-capture");
        var summary = await http.GetFromJsonAsync<JsonElement>(new Uri("api/models/iris-capture", UriKind.Relative));
        Console.WriteLine($"capture counters of iris-capture: {summary.GetProperty("monitoring").GetProperty("versions")}");
        await host.StopAsync();
        return 0;
    }

    /// <summary>
    /// What shadow scoring costs the caller: the same production model at 8 clients with the spec's shadow off and on
    /// (a staged version scores a copy of every request in the background), interleaved, capture on in both.
    /// </summary>
    private static async Task ShadowAsync(HttpClient http, Uri host, string key, int pid, BlobContainerClient incoming, string iris, int seconds, int rounds)
    {
        const string Model = "iris-shadow";
        string Spec(bool shadow) => $$"""{"task":"multiclass","label":"species","promotion":"manual","shadow":{{(shadow ? "true" : "false")}}}""";
        async Task<JsonElement> SummaryAsync() => await http.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{Model}", UriKind.Relative));
        async Task<int?> StagedAsync() => (await SummaryAsync()).GetProperty("slots").TryGetProperty("staging", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

        // v1 approved into production; v2 (other rows, so a new version) left waiting in staging.
        (await http.PutAsync(new Uri($"api/models/{Model}", UriKind.Relative), new StringContent(Spec(false)))).EnsureSuccessStatusCode();
        await incoming.GetBlobClient($"{Model}/iris.csv").UploadAsync(BinaryData.FromString(iris), overwrite: true);
        await BenchEnvironment.WaitAsync(async () => await StagedAsync() == 1, TimeSpan.FromMinutes(3));
        (await http.PostAsync(new Uri($"api/models/{Model}/versions/1/approve", UriKind.Relative), null)).EnsureSuccessStatusCode();
        await BenchEnvironment.WaitAsync(async () => (await SummaryAsync()).GetProperty("slots").TryGetProperty("production", out var p) && p.ValueKind == JsonValueKind.Number, TimeSpan.FromMinutes(3));
        var lines = iris.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var other = string.Join('\n', lines.Take(1).Concat(lines.Skip(1).Reverse().Skip(10))) + "\n";
        await incoming.GetBlobClient($"{Model}/iris-2.csv").UploadAsync(BinaryData.FromString(other), overwrite: true);
        await BenchEnvironment.WaitAsync(async () => await StagedAsync() == 2, TimeSpan.FromMinutes(3));

        var url = $"{host}api/models/{Model}/predict";
        var runs = new Dictionary<bool, List<WrkResult>> { [false] = [], [true] = [] };
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var shadow in new[] { false, true })
            {
                (await http.PutAsync(new Uri($"api/models/{Model}", UriKind.Relative), new StringContent(Spec(shadow)))).EnsureSuccessStatusCode();
                await Task.Delay(TimeSpan.FromSeconds(2)); // the serving cache reloads the spec within a second
                await Wrk.RunAsync(url, key, 8, 2); // warm the staged engine too
                var cpu = Proc.CpuSeconds(pid);
                var result = await Wrk.RunAsync(url, key, 8, seconds);
                result = result with { ServerCpuUs = (Proc.CpuSeconds(pid) - cpu) / (result.Rps * seconds) * 1e6 };
                runs[shadow].Add(result);
                Console.WriteLine($"   round {round},  8 clients, LocalHost, shadow {(shadow ? "on " : "off")}    {result.Rps,9:F0} req/s  p50 {result.P50Ms,6:F3} ms  p99 {result.P99Ms,6:F3} ms  server CPU {result.ServerCpuUs,5:F1} us/req  non-2xx {result.Errors}");
            }
        }

        var (off, on) = (Median(runs[false]), Median(runs[true]));
        var compared = (await SummaryAsync()).GetProperty("monitoring").GetProperty("versions").EnumerateArray()
            .Where(v => v.GetProperty("version").GetInt32() == 2 && v.TryGetProperty("shadow", out _))
            .Select(v => v.GetProperty("shadow").GetProperty("compared").GetInt64()).FirstOrDefault();
        Console.WriteLine($"shadow scoring, 8 clients: p50 {off.P50Ms:F3} -> {on.P50Ms:F3} ms, p99 {off.P99Ms:F3} -> {on.P99Ms:F3} ms, " +
            $"{off.Rps:F0} -> {on.Rps:F0} req/s (off -> on, median of {rounds}); {compared:N0} requests shadow-scored by v2");
    }

    private static async Task<List<double>> BatchAsync(string url, string key, string body, int count)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add("x-functions-key", key);
        var times = new List<double>();
        for (var i = 0; i < count + 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await client.PostAsync(new Uri(url), new StringContent(body, Encoding.UTF8, "application/json"));
            await response.Content.ReadAsByteArrayAsync();
            response.EnsureSuccessStatusCode();
            if (i >= 5)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        times.Sort();
        return times;
    }



    private static WrkResult Median(List<WrkResult> runs) => runs.OrderBy(r => r.Rps).ElementAt(runs.Count / 2);





}
