using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace MlopsFunctions.Core.Storage;

/// <summary>
/// Reads the data storage account (registry, blobs, task hub) from MlopsStorage when it is set, else from the setting
/// the Functions host itself uses, AzureWebJobsStorage: a connection string (Azurite, local), or identity-based
/// X__blobServiceUri/__tableServiceUri (Azure). The serving app keeps its host storage apart from the data this way.
/// </summary>
public sealed record StorageConnection(string? ConnectionString, Uri? BlobServiceUri, Uri? QueueServiceUri, Uri? TableServiceUri, TokenCredential? Credential)
{
    public const string Setting = "AzureWebJobsStorage";

    /// <summary>The data account when it is not the host's own storage (host.json names it for the durable task hub too).</summary>
    public const string DataSetting = "MlopsStorage";

    public static StorageConnection FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var name = IsSet(configuration, DataSetting) ? DataSetting : Setting;
        var connectionString = configuration[name];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new StorageConnection(connectionString, null, null, null, null);
        }

        var section = configuration.GetSection(name);
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
                $"Storage is not configured: set {name} to a connection string, or {name}__blobServiceUri and {name}__tableServiceUri (or {name}__accountName) for a managed identity.");
        }

        var clientId = section["clientId"];
        TokenCredential credential = string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(string.IsNullOrEmpty(clientId) ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential();
        return new StorageConnection(null, blob, Endpoint("queueServiceUri", "queue"), table, credential);
    }

    private static bool IsSet(IConfiguration configuration, string name) =>
        !string.IsNullOrWhiteSpace(configuration[name]) || configuration.GetSection(name).GetChildren().Any();
}
