using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace MlopsFunctions.Core.Storage;

/// <summary>
/// Reads the storage account from the setting the Functions host itself uses: AzureWebJobsStorage as a connection
/// string (Azurite, local), or identity-based AzureWebJobsStorage__blobServiceUri/__tableServiceUri (Azure).
/// </summary>
public sealed record StorageConnection(string? ConnectionString, Uri? BlobServiceUri, Uri? QueueServiceUri, Uri? TableServiceUri, TokenCredential? Credential)
{
    public const string Setting = "AzureWebJobsStorage";

    public static StorageConnection FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[Setting];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new StorageConnection(connectionString, null, null, null, null);
        }

        var section = configuration.GetSection(Setting);
        var account = section["accountName"];
        Uri? Endpoint(string key, string service) =>
            section[key] is { Length: > 0 } uri ? new Uri(uri)
            : account is { Length: > 0 } ? new Uri($"https://{account}.{service}.core.windows.net")
            : null;

        var blob = Endpoint("blobServiceUri", "blob");
        var table = Endpoint("tableServiceUri", "table");
        if (blob is null || table is null)
        {
            throw new InvalidOperationException(
                $"Storage is not configured: set {Setting} to a connection string, or {Setting}__blobServiceUri and {Setting}__tableServiceUri (or {Setting}__accountName) for a managed identity.");
        }

        var clientId = section["clientId"];
        TokenCredential credential = string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(string.IsNullOrEmpty(clientId) ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential();
        return new StorageConnection(null, blob, Endpoint("queueServiceUri", "queue"), table, credential);
    }
}
