using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace MlopsFunctions.Core.Storage;

/// <summary>The pipeline's view of Blob Storage: whole-blob reads and writes by <see cref="BlobPath"/>.</summary>
public sealed class BlobStore(BlobServiceClient service)
{
    public BlobServiceClient Service { get; } = service;

    public BlobClient Blob(BlobPath path) => Service.GetBlobContainerClient(path.Container).GetBlobClient(path.Name);

    public async Task EnsureContainersAsync(CancellationToken ct = default)
    {
        foreach (var container in BlobPath.Containers)
        {
            await Service.GetBlobContainerClient(container).CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
        }
    }

    public async Task<BinaryData?> TryDownloadAsync(BlobPath path, CancellationToken ct = default)
    {
        try
        {
            var result = await Blob(path).DownloadContentAsync(ct).ConfigureAwait(false);
            return result.Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task<BinaryData> DownloadAsync(BlobPath path, CancellationToken ct = default) =>
        await TryDownloadAsync(path, ct).ConfigureAwait(false)
        ?? throw new FileNotFoundException($"Blob {path} does not exist.");

    /// <summary>Writes a blob; with <paramref name="overwrite"/> false an existing blob is kept (content-addressed data).</summary>
    public async Task UploadAsync(BlobPath path, BinaryData content, bool overwrite = true, string? contentType = null, CancellationToken ct = default)
    {
        var options = new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } };
        if (!overwrite)
        {
            options.Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
        }

        try
        {
            await Blob(path).UploadAsync(content, options, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (!overwrite && ex.Status is 409 or 412)
        {
            // Already there: content-addressed blobs never change.
        }
    }

    public Task UploadJsonAsync<T>(BlobPath path, T value, CancellationToken ct = default) =>
        UploadAsync(path, BinaryData.FromString(Json.Serialize(value, indented: true)), true, "application/json", ct);
}
