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
/// measurement twice and interleaved so background load hits all three alike; then a 1,000-row batch's round trip.
///   bench/wrk-predict.sh [seconds=10]
/// </summary>
internal static partial class WrkBench
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string Row = """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""";

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = args.Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        var seconds = int.Parse(settings.GetValueOrDefault("seconds", "10"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(settings.GetValueOrDefault("rounds", "2"), CultureInfo.InvariantCulture);
        int[] clients = [.. settings.GetValueOrDefault("clients", "1,8,64").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))];

        int blobPort = ChildProcess.FreePort(), queuePort = ChildProcess.FreePort(), tablePort = ChildProcess.FreePort();
        await using var azurite = ChildProcess.Start(Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite"),
        [
            "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", $"{blobPort}", "--queuePort", $"{queuePort}", "--tablePort", $"{tablePort}",
        ]);
        foreach (var port in new[] { blobPort, queuePort, tablePort })
        {
            await ChildProcess.WaitForPortAsync(port, TimeSpan.FromSeconds(60), azurite);
        }

        var connection = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";
        await using var host = await LocalHostProcess.StartAsync(connection, "WrkHub", settings: new Dictionary<string, string> { ["Logging__LogLevel__MlopsFunctions"] = "Warning" });
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        await WaitAsync(async () => (await http.GetAsync(new Uri("api/health", UriKind.Relative))).IsSuccessStatusCode);

        var iris = File.ReadAllText(Path.Combine(RepoPaths.Root, "samples", "data", "iris.csv"));
        var incoming = new BlobServiceClient(connection).GetBlobContainerClient("incoming");
        await incoming.CreateIfNotExistsAsync();
        foreach (var (model, rate) in new[] { ("iris-capture", 1.0), ("iris-nocapture", 0.0) })
        {
            var spec = """{"task":"multiclass","label":"species","monitoring":{"captureRate":""" + rate.ToString(CultureInfo.InvariantCulture) + "}}";
            (await http.PutAsync(new Uri($"api/models/{model}", UriKind.Relative), new StringContent(spec))).EnsureSuccessStatusCode();
            await incoming.GetBlobClient($"{model}/iris.csv").UploadAsync(BinaryData.FromString(iris), overwrite: true);
        }

        foreach (var model in new[] { "iris-capture", "iris-nocapture" })
        {
            await WaitAsync(async () => (await http.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{model}", UriKind.Relative)))
                .GetProperty("slots").TryGetProperty("production", out _));
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
        var script = Path.Combine(Path.GetTempPath(), $"wrk-predict-{Environment.ProcessId}.lua");
        await File.WriteAllTextAsync(script, $"wrk.method = \"POST\"\nwrk.body = '{Row}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores (shared), {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}; wrk {seconds} s per run, {rounds} rounds, interleaved");
        foreach (var (_, url, _) in targets)
        {
            await WrkAsync(script, url, 8, 3); // warm-up: JIT, tiering, engine pools
        }

        var results = new Dictionary<(string, int), List<WrkResult>>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var c in clients)
            {
                foreach (var (name, url, pid) in targets)
                {
                    var (server, storage) = (CpuSeconds(pid), CpuSeconds(azurite.Id));
                    var result = await WrkAsync(script, url, c, seconds);
                    var requests = result.Rps * seconds;
                    result = result with
                    {
                        ServerCpuUs = (CpuSeconds(pid) - server) / requests * 1e6,
                        StorageCpuUs = (CpuSeconds(azurite.Id) - storage) / requests * 1e6,
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
        Console.WriteLine("CPU per request (less sensitive to other load than req/s): server process, and Azurite (storage writes of capture)");
        foreach (var c in clients)
        {
            var line = string.Join(" | ", targets.Select(t => (t.Name, Runs: results[(t.Name, c)]))
                .Select(t => $"{t.Name}: {t.Runs.Min(r => r.ServerCpuUs):F1} us + Azurite {t.Runs.Min(r => r.StorageCpuUs):F1} us"));
            Console.WriteLine($"{c,7} | {line}");
        }
        var batch = "[" + string.Join(',', Enumerable.Repeat(Row, 1000)) + "]";
        foreach (var (name, url, _) in targets.Take(2))
        {
            var times = await BatchAsync(url, batch, 40);
            Console.WriteLine($"1,000-row batch, {name}: round trip p50 {times[times.Count / 2]:F2} ms, p90 {times[times.Count * 9 / 10]:F2} ms (40 sequential requests on loopback)");
        }

        await InProcessCost.RunAsync(connection, "iris-capture");
        var summary = await http.GetFromJsonAsync<JsonElement>(new Uri("api/models/iris-capture", UriKind.Relative));
        Console.WriteLine($"capture counters of iris-capture: {summary.GetProperty("monitoring").GetProperty("versions")}");
        File.Delete(script);
        await host.StopAsync();
        return 0;
    }

    private static async Task<List<double>> BatchAsync(string url, string body, int count)
    {
        using var client = new HttpClient();
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

    private static async Task<WrkResult> WrkAsync(string script, string url, int connections, int seconds)
    {
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-t", $"{Math.Min(connections, 2)}", "-c", $"{connections}", "-d", $"{seconds}s", "--latency", "-s", script, url })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var rps = double.Parse(Rps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var errors = NonOk().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return new WrkResult(rps, Percentile(output, "50%"), Percentile(output, "99%"), errors);
    }

    private static double Percentile(string output, string label)
    {
        var match = Regex.Match(output, $@"^\s+{Regex.Escape(label)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "ms" => value, _ => value * 1000 };
    }

    private static WrkResult Median(List<WrkResult> runs) => runs.OrderBy(r => r.Rps).ElementAt(runs.Count / 2);

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The benchmark setup did not become ready in 3 minutes.");
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex Rps();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonOk();

    /// <summary>User plus system CPU time of a process so far, from /proc (Linux).</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private sealed record WrkResult(double Rps, double P50Ms, double P99Ms, long Errors, double ServerCpuUs = 0, double StorageCpuUs = 0);
}
