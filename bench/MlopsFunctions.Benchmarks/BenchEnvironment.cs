using System.Diagnostics;
using System.Globalization;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Benchmarks;

/// <summary>A benchmark's own Azurite (in memory, free ports) and the LocalHosts it starts against it.</summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly List<LocalHostProcess> hosts = [];

    /// <summary>
    /// The hosts' temp folder (their dataset copies and prepared binaries), new for every benchmark: a host on a fresh
    /// machine downloads and prepares its data, and a copy left by an earlier run would hide that cost.
    /// </summary>
    private readonly string temp = Directory.CreateTempSubdirectory("mlops-bench-host-").FullName;

    private BenchEnvironment(ChildProcess azurite, string connection)
    {
        Azurite = azurite;
        Connection = connection;
    }

    public ChildProcess Azurite { get; }

    public string Connection { get; }

    public static async Task<BenchEnvironment> StartAsync()
    {
        int blob = ChildProcess.FreePort(), queue = ChildProcess.FreePort(), table = ChildProcess.FreePort();
        var azurite = ChildProcess.Start(Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite"),
        [
            "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", $"{blob}", "--queuePort", $"{queue}", "--tablePort", $"{table}",
        ]);
        foreach (var port in new[] { blob, queue, table })
        {
            await ChildProcess.WaitForPortAsync(port, TimeSpan.FromSeconds(60), azurite);
        }

        return new BenchEnvironment(azurite, $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};" +
            $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;");
    }

    /// <summary>Starts a LocalHost and waits until it is healthy; its client sends the admin key.</summary>
    public async Task<(LocalHostProcess Host, HttpClient Http)> StartLocalHostAsync(string hub, IReadOnlyDictionary<string, string>? settings = null, string? role = null)
    {
        var merged = new Dictionary<string, string> { ["Logging__LogLevel__MlopsFunctions"] = "Warning", ["TMPDIR"] = temp };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            merged[key] = value;
        }

        var host = await LocalHostProcess.StartAsync(Connection, hub, role, merged);
        hosts.Add(host);
        var http = host.CreateClient();
        http.Timeout = TimeSpan.FromMinutes(5);
        await WaitAsync(async () => (await http.GetAsync(new Uri("api/health", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromMinutes(2));
        return (host, http);
    }

    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, int pollMilliseconds = 100)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
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

            await Task.Delay(pollMilliseconds);
        }

        throw new TimeoutException($"The benchmark waited {timeout} for a condition that never held.");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in hosts)
        {
            await host.DisposeAsync();
        }

        await Azurite.DisposeAsync();
        // A host's spare workers exit when it does, a moment later: the folder may still be in use for that moment.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(temp, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                await Task.Delay(100);
            }
        }
    }
}

/// <summary>What Linux says about a process: CPU time so far, resident memory now and at its peak.</summary>
internal static class Proc
{
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>Peak resident set (VmHWM) in MiB: the kernel's own high-water mark, so no sampling is missed.</summary>
    public static double PeakRssMb(int pid) => StatusKb(pid, "VmHWM:") / 1024.0;

    public static double RssMb(int pid) => StatusKb(pid, "VmRSS:") / 1024.0;

    /// <summary>Processes whose command line contains <paramref name="marker"/> (trainer children, for example).</summary>
    public static IEnumerable<int> Find(string marker)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (cmdline.Contains(marker, StringComparison.Ordinal))
            {
                yield return pid;
            }
        }
    }

    private static long StatusKb(int pid, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0; // it exited
        }
    }
}

/// <summary>Benchmark data built from real flights rows: the shared 200,000-row file when present, else the tests' 50,000 rows.</summary>
internal static class FlightsData
{
    public static string Source
    {
        get
        {
            var shared = Path.GetFullPath(Path.Combine(RepoPaths.Root, "..", "shared", "datasets", "flights_200k.csv"));
            return File.Exists(shared) ? shared : RepoPaths.FlightsSample;
        }
    }

    /// <summary>
    /// A CSV of at least <paramref name="rows"/> rows (the source repeated); <paramref name="variant"/> shifts the time
    /// column so different variants share no row (for windows of distinct files). Cached on disk by its shape.
    /// </summary>
    public static string Build(long rows, int variant = 0, long maxBytes = long.MaxValue)
    {
        var path = Path.Combine(Path.GetTempPath(), "mlops-bench", maxBytes == long.MaxValue ? $"flights-{rows}-{variant}.csv" : $"flights-{maxBytes}b.csv");
        if (File.Exists(path))
        {
            return path;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var lines = File.ReadLines(Source).Skip(1).ToList();
        using (var writer = new StreamWriter(path + ".part"))
        {
            writer.Write("delay,distance,time\n");
            long written = 0;
            for (var pass = 0; written < rows && writer.BaseStream.Position < maxBytes; pass++)
            {
                foreach (var line in lines)
                {
                    if (variant == 0 && pass == 0)
                    {
                        writer.Write(line);
                    }
                    else
                    {
                        // Keep rows distinct across repeats and variants, as real daily files are.
                        var cells = line.Split(',');
                        var time = double.Parse(cells[2], CultureInfo.InvariantCulture) + (variant * 0.001) + (pass * 0.000001);
                        writer.Write($"{cells[0]},{cells[1]},{time.ToString("0.######", CultureInfo.InvariantCulture)}");
                    }

                    writer.Write('\n');
                    if (++written >= rows || (written % 1024 == 0 && writer.BaseStream.Position >= maxBytes))
                    {
                        break;
                    }
                }
            }
        }

        File.Move(path + ".part", path, overwrite: true);
        return path;
    }

    /// <summary>A CSV of about <paramref name="megabytes"/> MiB.</summary>
    public static string BuildMegabytes(int megabytes) => Build(long.MaxValue, maxBytes: megabytes * 1024L * 1024L);
}
