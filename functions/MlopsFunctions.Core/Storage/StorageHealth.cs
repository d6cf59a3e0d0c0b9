using System.Diagnostics;
using System.Reflection;
using Azure.Data.Tables;
using Azure.Storage.Blobs;

namespace MlopsFunctions.Core.Storage;

/// <summary>Checks that blob and table storage answer, for GET /api/health and deployment smoke tests.</summary>
public sealed class StorageHealth(BlobServiceClient blobs, TableServiceClient tables)
{
    public static string AppVersion { get; } =
        typeof(StorageHealth).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public async Task<HealthReport> CheckAsync(CancellationToken ct = default)
    {
        var checks = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["blob"] = await Probe(async () => await blobs.GetBlobContainerClient(BlobPath.Models).ExistsAsync(ct).ConfigureAwait(false)).ConfigureAwait(false),
            ["table"] = await Probe(async () =>
            {
                await foreach (var _ in tables.QueryAsync(maxPerPage: 1, cancellationToken: ct).ConfigureAwait(false))
                {
                    break;
                }
            }).ConfigureAwait(false),
        };
        var healthy = checks.Values.All(v => v.StartsWith("ok", StringComparison.Ordinal));
        return new HealthReport(healthy ? "healthy" : "unhealthy", AppVersion, checks);
    }

    private static async Task<string> Probe(Func<Task> probe)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await probe().WaitAsync(timeout.Token).ConfigureAwait(false);
            return $"ok ({clock.ElapsedMilliseconds} ms)";
        }
#pragma warning disable CA1031 // A health probe reports every failure instead of throwing it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return $"failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}";
        }
    }
}

/// <summary>The health answer: overall status, app version and one line per dependency.</summary>
public sealed record HealthReport(string Status, string Version, IReadOnlyDictionary<string, string> Checks);
