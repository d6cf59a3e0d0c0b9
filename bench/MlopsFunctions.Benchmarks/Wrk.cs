using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace MlopsFunctions.Benchmarks;

/// <summary>HTTP load with wrk (Debian package): a POST of one iris row with the key, at a number of connections.</summary>
internal static partial class Wrk
{
    public const string IrisRow = """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""";

    public static async Task<WrkResult> RunAsync(string url, string? key, int connections, int seconds, string body = IrisRow)
    {
        var script = Path.Combine(Path.GetTempPath(), $"wrk-{Environment.ProcessId}-{Guid.NewGuid():N}.lua");
        var headers = key is null ? string.Empty : $"wrk.headers[\"x-functions-key\"] = \"{key}\"\n";
        await File.WriteAllTextAsync(script, $"wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n{headers}");
        try
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
        finally
        {
            File.Delete(script);
        }
    }

    private static double Percentile(string output, string label)
    {
        var match = Regex.Match(output, $@"^\s+{Regex.Escape(label)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "ms" => value, _ => value * 1000 };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex Rps();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonOk();
}

/// <summary>One wrk run: throughput, latency percentiles, failed responses, and (filled by callers) CPU per request.</summary>
internal sealed record WrkResult(double Rps, double P50Ms, double P99Ms, long Errors, double ServerCpuUs = 0, double StorageCpuUs = 0);
