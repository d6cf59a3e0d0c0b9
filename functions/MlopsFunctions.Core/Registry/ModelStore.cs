using System.Security.Cryptography;
using Microsoft.ML;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Registry;

/// <summary>Model files in blobs: written once per version, and loaded only when their SHA-256 matches the registry.</summary>
public sealed class ModelStore(BlobStore blobs)
{
    public const string ModelFile = "model.zip";
    public const string SchemaFile = "schema.json";

    public async Task<string> SaveAsync(string model, int version, byte[] modelZip, CancellationToken ct = default)
    {
        var path = BlobPath.ModelFile(model, version, ModelFile);
        await blobs.UploadAsync(path, BinaryData.FromBytes(modelZip), overwrite: true, "application/zip", ct).ConfigureAwait(false);
        return path.ToString();
    }

    /// <summary>A version's model and the schema it reads, both verified against their registered hashes.</summary>
    public async Task<(ITransformer Model, DatasetSchema Schema)> LoadAsync(string model, ModelVersion record, CancellationToken ct = default)
    {
        var (bytes, schema) = await ReadAsync(model, record, ct).ConfigureAwait(false);
        return (Load(bytes), schema);
    }

    /// <summary>A version's model bytes and schema, both verified against their registered hashes, for a process that loads the model itself.</summary>
    public async Task<(byte[] ModelZip, DatasetSchema Schema)> ReadAsync(string model, ModelVersion record, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.ModelBlob is null || record.ModelSha256 is null || (record.Schema is null && record.SchemaBlob is null))
        {
            throw new ModelUnavailableException($"Version {record.Version} of '{model}' has no stored model.");
        }

        var bytes = await ReadModelAsync(model, record.Version, record.ModelBlob, record.ModelSha256, ct).ConfigureAwait(false);
        DatasetSchema schema;
        try
        {
            schema = record.Schema ?? await blobs.ReadJsonAsync<DatasetSchema>(BlobPath.Parse(record.SchemaBlob!), record.SchemaSha256, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException)
        {
            throw new ModelUnavailableException($"The schema of '{model}' v{record.Version} cannot be used: {ex.Message}");
        }

        return (bytes, schema);
    }

    /// <summary>An ML.NET model from its zip bytes.</summary>
    public static ITransformer Load(byte[] modelZip)
    {
        using var stream = new MemoryStream(modelZip);
        return new MLContext().Model.Load(stream, out _);
    }

    /// <summary>Model bytes from a blob, after checking their SHA-256.</summary>
    public async Task<byte[]> ReadModelAsync(string model, int version, string blob, string sha256, CancellationToken ct = default)
    {
        var content = await blobs.TryDownloadAsync(BlobPath.Parse(blob), ct).ConfigureAwait(false)
            ?? throw new ModelUnavailableException($"The model file of '{model}' v{version} ({blob}) is missing.");
        var bytes = content.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(sha, sha256, StringComparison.Ordinal))
        {
            throw new ModelUnavailableException(
                $"The model file of '{model}' v{version} does not match its registered SHA-256 (expected {sha256}, found {sha}); it will not be loaded.");
        }

        return bytes;
    }
}

/// <summary>A model version cannot be loaded (missing or corrupt); HTTP maps it to 503 with the reason.</summary>
public sealed class ModelUnavailableException(string message) : Exception(message);
