using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Monitoring;
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
        var roles = HostRole.FromConfiguration(configuration); // a bad Mlops__Role stops the host here, before anything runs
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

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<BlobStore>();
        services.AddSingleton<DatasetFiles>();
        services.AddSingleton<RunStore>();
        services.AddSingleton<SingleFlight>();
        services.AddSingleton<TrainingWindows>();
        services.AddSingleton<RetrainPolicy>();
        services.AddSingleton<DatasetRetention>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<ModelStore>();
        services.AddSingleton<VersionDocuments>();
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
        services.AddSingleton<DatasetIntake>();
        services.AddSingleton<FeedbackIntake>();
        services.AddSingleton<DriftReports>();
        services.AddSingleton<ModelMonitor>();
        services.AddSingleton<MonitorScheduler>();
        services.AddSingleton<StorageHealth>();
        if (roles.Runs(Roles.Pipeline))
        {
            // A serving host only reads: the pipeline (or the infrastructure, in Azure) creates the containers and tables.
            services.AddHostedService<StorageInitializer>();
            services.AddHostedService<SparesAtStart>();
        }

        return services;
    }
}
