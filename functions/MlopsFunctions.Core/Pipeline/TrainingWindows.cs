using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Resolves a spec's training window to the accepted datasets it covers (oldest first), the schema they are
/// trained with (the newest file's types, categories of all of them), the rows each contributes once duplicates
/// across files are dropped, and the profile of exactly those rows.
/// </summary>
public sealed class TrainingWindows(ModelRegistry registry, BlobStore blobs, DatasetFiles files, IOptions<MlopsOptions> options, TimeProvider time)
{
    /// <summary>The window's datasets, oldest first: cheap (the catalog only), for deciding whether anything changed.</summary>
    public async Task<List<DatasetRef>> SelectAsync(string model, ModelSpec spec, IReadOnlyList<DatasetRef> accepted, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(accepted);
        var records = await registry.ListDatasetsAsync(model, ct).ConfigureAwait(false);
        var catalog = records.Select(Ref).ToList();
        var window = spec.Window;
        List<DatasetRef> datasets = window.Kind switch
        {
            TrainingWindow.LatestKind => accepted.Count > 0 ? [accepted[^1]] : Latest(records),
            TrainingWindow.AllKind => catalog,
            TrainingWindow.DaysKind => await WithinDaysAsync(model, window.Size!.Value, ct).ConfigureAwait(false),
            _ => NewestRows(catalog, window.Size!.Value),
        };

        // A file accepted by this run is always part of its window, even if the catalog read raced with it.
        foreach (var dataset in accepted.Where(a => window.Kind != TrainingWindow.LatestKind && datasets.TrueForAll(d => d.Sha256 != a.Sha256)))
        {
            datasets.Add(dataset);
        }

        return datasets;
    }

    /// <summary>The window with its schema, profile and rows per dataset (one streaming pass when it has several files).</summary>
    public async Task<WindowData> ResolveAsync(string model, ModelSpec spec, IReadOnlyList<DatasetRef> accepted, CancellationToken ct = default) =>
        await DescribeAsync(await SelectAsync(model, spec, accepted, ct).ConfigureAwait(false), options.Value.Seed, ct).ConfigureAwait(false);

    /// <summary>A version's datasets, as its lineage names them, or the name of the first one that no longer exists.</summary>
    public async Task<(List<DatasetRef> Datasets, string? Missing)> OfVersionAsync(string model, ModelVersion version, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        var datasets = new List<DatasetRef>();
        foreach (var sha in version.Lineage.Datasets?.Select(d => d.Sha256) ?? [version.Lineage.DatasetSha256])
        {
            if (await registry.GetDatasetAsync(model, sha, ct).ConfigureAwait(false) is not { } record)
            {
                return ([], sha);
            }

            datasets.Add(Ref(record));
        }

        return (datasets, null);
    }

    /// <summary>Schema, profile and rows per dataset of the given datasets (oldest first), split and de-duplicated with <paramref name="seed"/>.</summary>
    public async Task<WindowData> DescribeAsync(List<DatasetRef> datasets, int seed, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        if (datasets.Count == 0)
        {
            return new WindowData([], [], 0, null!, null!);
        }

        var schemas = new List<DatasetSchema>();
        foreach (var dataset in datasets)
        {
            schemas.Add(await blobs.ReadJsonAsync<DatasetSchema>(BlobPath.Parse(dataset.Schema), ct: ct).ConfigureAwait(false));
        }

        var schema = SchemaMerge.Merge(schemas);
        if (datasets.Count == 1)
        {
            var only = datasets[0];
            var profile = await blobs.ReadJsonAsync<DataProfile>(BlobPath.Parse(only.Profile), ct: ct).ConfigureAwait(false);
            return new WindowData(datasets, [new DatasetUse(only.Dataset, only.Sha256, only.UsableRows)], only.UsableRows, schema, profile);
        }

        var local = new List<string>();
        foreach (var dataset in datasets)
        {
            local.Add(await files.GetAsync(dataset.Dataset, dataset.Sha256, ct).ConfigureAwait(false));
        }

        var settings = options.Value;
        var (rows, windowProfile) = WindowProfiler.Scan(local, schema, CsvLimits.From(settings), seed);
        var uses = datasets.Select((d, i) => new DatasetUse(d.Dataset, d.Sha256, rows[i])).ToList();
        return new WindowData(datasets, uses, rows.Sum(), schema, windowProfile);
    }

    private async Task<List<DatasetRef>> WithinDaysAsync(string model, int days, CancellationToken ct)
    {
        var since = time.GetUtcNow().AddDays(-days);
        return (await registry.ListDatasetsAsync(model, ct).ConfigureAwait(false)).Where(d => d.AcceptedAt >= since).Select(Ref).ToList();
    }

    /// <summary>
    /// "latest" without a file of its own (a retrain): the newest dataset a user sent, with the labelled feedback
    /// accepted after it, so a retrain the monitor starts learns from the feedback and the data it corrects alike.
    /// </summary>
    private static List<DatasetRef> Latest(IReadOnlyList<DatasetRecord> oldestFirst)
    {
        var newest = oldestFirst.LastOrDefault(d => !IsFeedback(d)) ?? (oldestFirst.Count > 0 ? oldestFirst[^1] : null);
        return newest is null
            ? []
            : [Ref(newest), .. oldestFirst.Where(d => IsFeedback(d) && d != newest && d.AcceptedAt >= newest.AcceptedAt).Select(Ref)];
    }

    /// <summary>A dataset the monitor built from labelled feedback (its source is under the feedback container).</summary>
    public static bool IsFeedback(DatasetRecord dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return dataset.Source.StartsWith(BlobPath.Feedback + "/", StringComparison.Ordinal);
    }

    /// <summary>The newest datasets whose rows add up to the window (the oldest of them may bring more).</summary>
    private static List<DatasetRef> NewestRows(List<DatasetRef> catalog, int rows)
    {
        var picked = new List<DatasetRef>();
        long total = 0;
        for (var i = catalog.Count - 1; i >= 0 && total < rows; i--)
        {
            picked.Insert(0, catalog[i]);
            total += catalog[i].UsableRows;
        }

        return picked;
    }

    private static DatasetRef Ref(DatasetRecord d) => new(d.Dataset, d.Sha256, d.UsableRows, d.Schema, d.Profile, d.Report);
}

/// <summary>A resolved window: its datasets (oldest first), what each contributes, the schema and the profile.</summary>
public sealed record WindowData(IReadOnlyList<DatasetRef> Datasets, IReadOnlyList<DatasetUse> Uses, long Rows, DatasetSchema Schema, DataProfile Profile);

/// <summary>Combines the schemas of a window's files: the newest file's columns and types, every category and class seen.</summary>
public static class SchemaMerge
{
    public static DatasetSchema Merge(IReadOnlyList<DatasetSchema> oldestFirst)
    {
        ArgumentNullException.ThrowIfNull(oldestFirst);
        var newest = oldestFirst[^1];
        if (oldestFirst.Count == 1)
        {
            return newest;
        }

        var columns = newest.Columns.Select(column =>
        {
            if (column.Kind != ColumnKind.Categorical)
            {
                return column with { Nullable = column.Nullable || oldestFirst.Any(s => s.Find(column.Name)?.Nullable == true) };
            }

            var same = oldestFirst.Select(s => s.Find(column.Name)).Where(c => c?.Kind == ColumnKind.Categorical).ToList();
            return column with
            {
                Nullable = same.Any(c => c!.Nullable),
                Domain = same.SelectMany(c => c!.Domain ?? []).Distinct(StringComparer.Ordinal).ToList(),
                Vocabulary = same.SelectMany(c => c!.Vocabulary ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
            };
        }).ToList();
        var labels = oldestFirst.SelectMany(s => s.LabelValues ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return newest with { Columns = columns, LabelValues = newest.LabelValues is null ? null : labels };
    }
}
