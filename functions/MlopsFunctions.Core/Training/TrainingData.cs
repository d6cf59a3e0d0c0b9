using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Training;

/// <summary>An accepted dataset read back from blobs, with the split a version was trained and evaluated on.</summary>
public static class TrainingData
{
    public static async Task<(CsvTable Table, HoldoutSplit Split)> LoadAsync(
        BlobStore blobs, string dataset, DatasetSchema schema, double holdoutFraction, int seed, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var content = await blobs.DownloadAsync(BlobPath.Parse(dataset), ct).ConfigureAwait(false);
        var table = CsvParser.Parse(content.ToString());
        return (table, HoldoutSplit.Create(table, schema, holdoutFraction, seed));
    }
}
