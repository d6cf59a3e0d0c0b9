using System.Security.Cryptography;
using Microsoft.ML;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Registry;

/// <summary>Model files in blobs: written once per version, and loaded only when their SHA-256 matches the registry.</summary>
public sealed class ModelStore(BlobStore blobs)
{
    public const string ModelFile = "model.zip";

    public async Task<string> SaveAsync(string model, int version, byte[] modelZip, CancellationToken ct = default)
    {
        var path = BlobPath.ModelFile(model, version, ModelFile);
        await blobs.UploadAsync(path, BinaryData.FromBytes(modelZip), overwrite: true, "application/zip", ct).ConfigureAwait(false);
        return path.ToString();
    }

    public async Task<ITransformer> LoadAsync(string model, ModelVersion record, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.ModelBlob is null || record.ModelSha256 is null || record.Schema is null)
        {
            throw new ModelUnavailableException($"Version {record.Version} of '{model}' has no stored model.");
        }

        var content = await blobs.TryDownloadAsync(BlobPath.Parse(record.ModelBlob), ct).ConfigureAwait(false)
            ?? throw new ModelUnavailableException($"The model file of '{model}' v{record.Version} ({record.ModelBlob}) is missing.");
        var bytes = content.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(sha, record.ModelSha256, StringComparison.Ordinal))
        {
            throw new ModelUnavailableException(
                $"The model file of '{model}' v{record.Version} does not match its registered SHA-256 (expected {record.ModelSha256}, found {sha}); it will not be loaded.");
        }

        using var stream = new MemoryStream(bytes);
        return new MLContext().Model.Load(stream, out _);
    }
}

/// <summary>A model version cannot be loaded (missing or corrupt); HTTP maps it to 503 with the reason.</summary>
public sealed class ModelUnavailableException(string message) : Exception(message);
