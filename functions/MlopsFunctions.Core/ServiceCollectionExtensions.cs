using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core;

/// <summary>Registers every service of the product once, for the Functions app, LocalHost and tests.</summary>
public static class ServiceCollectionExtensions
{
    public static IServiceCollection AddMlops(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MlopsOptions>()
            .Bind(configuration.GetSection(MlopsOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        var storage = StorageConnection.FromConfiguration(configuration);
        services.AddSingleton(storage);
        services.AddAzureClients(clients =>
        {
            clients.AddClient<BlobServiceClient, BlobClientOptions>(options => storage.ConnectionString is not null
                ? new BlobServiceClient(storage.ConnectionString, options)
                : new BlobServiceClient(storage.BlobServiceUri, storage.Credential, options));
            clients.AddClient<TableServiceClient, TableClientOptions>(options => storage.ConnectionString is not null
                ? new TableServiceClient(storage.ConnectionString, options)
                : new TableServiceClient(storage.TableServiceUri, storage.Credential, options));
        });

        services.AddSingleton<BlobStore>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<ModelStore>();
        services.AddSingleton<ModelCache>();
        services.AddSingleton<PredictionService>();
        services.AddSingleton<SmokeTester>();
        services.AddSingleton<ServingMonitor>();
        services.AddHostedService<ServingMonitor.Flusher>();
        services.AddSingleton<RequestCapture>();
        services.AddHostedService(s => s.GetRequiredService<RequestCapture>());
        services.AddSingleton<ShadowScorer>();
        services.AddHostedService(s => s.GetRequiredService<ShadowScorer>());
        services.AddSingleton<PipelineStarter>();
        services.AddSingleton<RetrainScheduler>();
        services.AddSingleton<StorageHealth>();
        services.AddHostedService<StorageInitializer>();
        return services;
    }
}
