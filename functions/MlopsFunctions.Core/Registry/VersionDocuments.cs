using System.Text.Json;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Registry;

/// <summary>
/// The large documents of a version, which live in blobs beside its model (a table property holds 64 KiB at most):
/// the schema it reads, the profile of its training data, its evaluation with every candidate, and the validation
/// report of its newest data (anomalies and drift). Hash-checked where the registry recorded a hash.
/// </summary>
public sealed class VersionDocuments(BlobStore blobs)
{
    public async Task<VersionDetails> LoadAsync(ModelVersion version, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        return new VersionDetails(
            version.Schema ?? await ReadAsync<DatasetSchema>(version.SchemaBlob, version.SchemaSha256, ct).ConfigureAwait(false),
            await ReadAsync<DataProfile>(version.ProfileBlob, version.ProfileSha256, ct).ConfigureAwait(false),
            await ReadAsync<JsonElement?>(version.EvaluationBlob, null, ct).ConfigureAwait(false),
            await ReadAsync<ValidationReport>(version.Validation?.Report, null, ct).ConfigureAwait(false));
    }

    private async Task<T?> ReadAsync<T>(string? blob, string? sha256, CancellationToken ct)
    {
        if (blob is null || BlobPath.TryParse(blob) is not { } path)
        {
            return default;
        }

        try
        {
            return await blobs.ReadJsonAsync<T>(path, sha256, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or JsonException)
        {
            return default; // a missing or altered document is shown as absent, never trusted
        }
    }
}

/// <summary>A version's documents; each is null when the version predates it or it cannot be trusted.</summary>
public sealed record VersionDetails(DatasetSchema? Schema, DataProfile? Profile, JsonElement? Evaluation, ValidationReport? Validation);
