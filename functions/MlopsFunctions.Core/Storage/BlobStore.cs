using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace MlopsFunctions.Core.Storage;

/// <summary>The pipeline's view of Blob Storage: reads, writes, copies and JSON documents by <see cref="BlobPath"/>.</summary>
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

    /// <summary>The blob's properties, or null when it does not exist.</summary>
    public async Task<BlobProperties?> TryGetPropertiesAsync(BlobPath path, CancellationToken ct = default)
    {
        try
        {
            return (await Blob(path).GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>A stream of exactly the version with <paramref name="etag"/>: if the blob changes while read, reading fails.</summary>
    /// <remarks>
    /// One GET read as it arrives, so the download runs ahead of the reader by what the socket buffers. OpenRead fetched
    /// 4 MiB ranges one after another, the reader waiting for each: a 31 MiB file validated in 0.75 s instead of 0.45 s.
    /// </remarks>
    public async Task<Stream> OpenReadAsync(BlobPath path, ETag etag, CancellationToken ct = default) =>
        (await Blob(path).DownloadStreamingAsync(new BlobDownloadOptions
        {
            Conditions = new BlobRequestConditions { IfMatch = etag },
        }, ct).ConfigureAwait(false)).Value.Content;

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

    /// <summary>Writes a JSON document and returns its SHA-256, which the registry keeps to verify it on read.</summary>
    public async Task<string> UploadJsonWithHashAsync<T>(BlobPath path, T value, CancellationToken ct = default)
    {
        var bytes = BinaryData.FromString(Json.Serialize(value, indented: true));
        await UploadAsync(path, bytes, true, "application/json", ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(SHA256.HashData(bytes.ToMemory().Span));
    }

    /// <summary>Reads a JSON document, refusing it when its SHA-256 is not the one recorded (when one is given).</summary>
    public async Task<T> ReadJsonAsync<T>(BlobPath path, string? sha256 = null, CancellationToken ct = default)
    {
        var content = await DownloadAsync(path, ct).ConfigureAwait(false);
        if (sha256 is not null && !string.Equals(Convert.ToHexStringLower(SHA256.HashData(content.ToMemory().Span)), sha256, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Blob {path} does not match its recorded SHA-256; it will not be used.");
        }

        return Json.Deserialize<T>(content.ToString());
    }

    /// <summary>
    /// Copies a blob inside the account on the server (the data never passes through this process), from exactly
    /// the version with <paramref name="sourceETag"/>. Falls back to a streamed copy where the service refuses.
    /// </summary>
    public async Task CopyAsync(BlobPath source, BlobPath target, ETag sourceETag, string? contentType = null, CancellationToken ct = default)
    {
        var from = Blob(source);
        var to = Blob(target);
        try
        {
            var operation = await to.StartCopyFromUriAsync(from.Uri, new BlobCopyFromUriOptions
            {
                SourceConditions = new BlobRequestConditions { IfMatch = sourceETag },
            }, ct).ConfigureAwait(false);
            await operation.WaitForCompletionAsync(ct).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 401 or 403)
        {
            // Some identities cannot authorize a server-side copy's source: stream it instead.
            await using var stream = await OpenReadAsync(source, sourceETag, ct).ConfigureAwait(false);
            await to.UploadAsync(stream, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } }, ct).ConfigureAwait(false);
        }
    }
}
