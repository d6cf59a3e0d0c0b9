using Azure.Storage.Blobs;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// PSI per feature of one hour of inputs served by one production version against that version's training profile.
/// The bin counts are kept, so later checks in the same hour add their rows and the hour's PSI covers all of them;
/// the capture files read (and how far) are kept too, so no row is counted twice.
/// </summary>
public sealed record DriftReport
{
    public required string Model { get; init; }

    public required DateTimeOffset Hour { get; init; }

    public required int Version { get; init; }

    /// <summary>Captured rows of the hour compared so far.</summary>
    public long Rows { get; init; }

    public double Threshold { get; init; }

    /// <summary>Rows an hour needs before its PSI is judged (fewer make PSI noisy).</summary>
    public int MinRows { get; init; }

    public bool Judged => Rows >= MinRows;

    public DateTimeOffset CheckedAt { get; init; }

    public IReadOnlyList<FeatureDrift> Features { get; init; } = [];

    /// <summary>Features over the threshold in a judged hour.</summary>
    public IReadOnlyList<string> Drifted => Judged ? Features.Where(f => f.Psi > Threshold).Select(f => f.Name).ToList() : [];

    public double? MaxPsi => Features.Max(f => f.Psi);

    /// <summary>Capture blobs read for this hour and the byte offset reached in each.</summary>
    public IReadOnlyDictionary<string, long> Files { get; init; } = new Dictionary<string, long>();
}

/// <summary>
/// One feature's drift in an hour: PSI (null when the values cannot be binned like the baseline, e.g. too many
/// categories), its level, the rows it covers and the bin counts the PSI was computed from.
/// </summary>
public sealed record FeatureDrift(string Name, double? Psi, string Level, long Rows, long Missing, IReadOnlyList<long>? Counts);

/// <summary>Reads and writes the per-hour drift reports under models/{model}/drift/ and answers the drift route's time ranges.</summary>
public sealed class DriftReports(BlobStore blobs)
{
    /// <summary>Most reports one answer holds (a week of hours); the newest are kept when there are more.</summary>
    public const int MaxReports = 168;

    public async Task<DriftReport?> GetAsync(string model, DateTimeOffset hour, int version, CancellationToken ct = default)
    {
        var content = await blobs.TryDownloadAsync(MonitoringPaths.DriftReport(model, hour, version), ct).ConfigureAwait(false);
        return content is null ? null : Json.Deserialize<DriftReport>(content.ToString());
    }

    public Task SaveAsync(DriftReport report, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(report);
        return blobs.UploadJsonAsync(MonitoringPaths.DriftReport(report.Model, report.Hour, report.Version), report, ct);
    }

    /// <summary>The reports of hours in [from, to], oldest first, and whether older ones were left out (over <see cref="MaxReports"/>).</summary>
    public async Task<(IReadOnlyList<DriftReport> Reports, bool Truncated)> ListAsync(string model, DateTimeOffset from, DateTimeOffset to, CancellationToken ct = default)
    {
        var container = blobs.Service.GetBlobContainerClient(BlobPath.Models);
        var prefix = MonitoringPaths.DriftPrefix(model);
        var names = new List<string>();
        var first = MonitoringPaths.FloorHour(from);
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, ct).ConfigureAwait(false))
        {
            var file = blob.Name[prefix.Length..];
            if (file.Length > MonitoringPaths.HourFormat.Length && MonitoringPaths.ParseHour(file[..MonitoringPaths.HourFormat.Length]) is { } hour &&
                hour >= first && hour <= to)
            {
                names.Add(blob.Name);
            }
        }

        names.Sort(StringComparer.Ordinal); // hour first, fixed width: name order is time order
        var truncated = names.Count > MaxReports;
        var reports = new List<DriftReport>();
        foreach (var name in truncated ? names[^MaxReports..] : names)
        {
            if (await blobs.TryDownloadAsync(new BlobPath(BlobPath.Models, name), ct).ConfigureAwait(false) is { } content)
            {
                reports.Add(Json.Deserialize<DriftReport>(content.ToString()));
            }
        }

        return (reports, truncated);
    }
}
