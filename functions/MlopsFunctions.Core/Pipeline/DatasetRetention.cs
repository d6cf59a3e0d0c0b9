using System.Globalization;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Expires a model's accepted datasets older than its spec's retention, on the timer. A dataset that a version in a
/// slot or in the rollback history trained on is kept (that version must stay reproducible), and nothing expires
/// while a run is active (its window may be reading it). Each removal is recorded as a registry event.
/// </summary>
public sealed partial class DatasetRetention(
    ModelRegistry registry, BlobStore blobs, SingleFlight queue, TimeProvider time, ILogger<DatasetRetention> logger)
{
    public async Task<IReadOnlyList<string>> ExpireAsync(string model, ModelSpec spec, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Retention?.Days is not { } days || (await queue.GetAsync(model, ct).ConfigureAwait(false)).Active is not null)
        {
            return [];
        }

        var now = time.GetUtcNow();
        var slots = await registry.GetSlotsAsync(model, ct).ConfigureAwait(false);
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var version in new[] { slots.Production, slots.Staging }.Concat(slots.History.Select(h => (int?)h)).OfType<int>().Distinct())
        {
            if (await registry.GetVersionAsync(model, version, ct).ConfigureAwait(false) is { } record)
            {
                kept.UnionWith(record.Lineage.Datasets?.Select(d => d.Sha256) ?? [record.Lineage.DatasetSha256]);
            }
        }

        var removed = new List<string>();
        foreach (var dataset in await registry.ListDatasetsAsync(model, ct).ConfigureAwait(false))
        {
            if (dataset.AcceptedAt >= now.AddDays(-days) || kept.Contains(dataset.Sha256))
            {
                continue;
            }

            foreach (var blob in new[] { dataset.Dataset, dataset.Report, dataset.Profile, dataset.Schema })
            {
                await blobs.Blob(BlobPath.Parse(blob)).DeleteIfExistsAsync(cancellationToken: ct).ConfigureAwait(false);
            }

            await registry.RemoveDatasetAsync(model, dataset.Sha256, ct).ConfigureAwait(false);
            var reason = $"dataset {dataset.Sha256[..12]} ({dataset.Source}, {dataset.UsableRows.ToString(CultureInfo.InvariantCulture)} rows) was accepted " +
                         $"{dataset.AcceptedAt:yyyy-MM-dd}, over the retention of {days.ToString(CultureInfo.InvariantCulture)} days, and no kept version trained on it";
            await registry.RecordEventAsync(model, new RegistryEvent("expire", null, slots.Production, slots.Production, slots.Staging, slots.Staging,
                "retention", reason, now), ct).ConfigureAwait(false);
            LogExpired(logger, model, dataset.Dataset);
            removed.Add(dataset.Dataset);
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention of {Model} removed {Dataset}")]
    private static partial void LogExpired(ILogger logger, string model, string dataset);
}
