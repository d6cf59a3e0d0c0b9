using System.Net;
using System.Net.Sockets;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.LocalHost;

/// <summary>
/// The durable backend of LocalHost: the Azure Storage provider Durable Functions uses in Azure, served over the
/// Durable Task gRPC protocol on a loopback h2c port, with the SDK worker and client connected to it. The preview
/// package (InProcessTestHost's TaskHubGrpcServer) is used only here, so it can be swapped in one place.
/// A host whose role does not run the durable tasks (serving) gets the same server in API-only mode: its client can
/// read runs, but no dispatcher polls the task hub's queues and no worker is registered, so it takes no work item.
/// </summary>
public static partial class DurableSidecar
{
    public const string TaskHubSetting = "TaskHubName";
    public const string DefaultTaskHub = "MlopsHub";

    public static void AddDurableSidecar(this WebApplicationBuilder builder, Roles roles)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var runsTasks = roles.Runs(HostRole.DurableTasks);
        var port = FreeLoopbackPort();
        var storage = StorageConnection.FromConfiguration(builder.Configuration);
        var hub = builder.Configuration[TaskHubSetting] is { Length: > 0 } h ? h : DefaultTaskHub;
        var polling = builder.Configuration.GetSection(MlopsOptions.Section).Get<MlopsOptions>()?.MaxQueuePollingSeconds ?? 2;
        var recovery = TimeSpan.FromSeconds(builder.Configuration.GetSection(LocalHostOptions.Section).Get<LocalHostOptions>()?.RecoverySeconds ?? 20);

        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2));

        builder.Services.AddSingleton(new SidecarPort(port));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(services => new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = hub,
            StorageAccountClientProvider = storage.ConnectionString is not null
                ? new StorageAccountClientProvider(storage.ConnectionString)
                : new StorageAccountClientProvider(storage.BlobServiceUri!, storage.QueueServiceUri!, storage.TableServiceUri!, storage.Credential!),
            MaxQueuePollingInterval = TimeSpan.FromSeconds(polling),
            PartitionCount = 1,

            // Crash recovery: messages a killed process had taken become visible again after this long (5 minutes by
            // default, measured: a killed run resumed after 308 s). Running activities keep theirs hidden by renewal
            // (RenewingOrchestrationService), so a short timeout never runs an activity twice while it is alive.
            ControlQueueVisibilityTimeout = recovery,
            WorkItemQueueVisibilityTimeout = recovery,

            // The table partition manager lets a restarted LocalHost (same worker id: machine and hub) take its partition
            // back at once instead of waiting out the old process's blob lease.
            UseTablePartitionManagement = true,
            WorkerId = $"{Environment.MachineName}-{hub}",
            LoggerFactory = services.GetRequiredService<ILoggerFactory>(),
        }));
        builder.Services.AddSingleton(services => new RenewingOrchestrationService(
            services.GetRequiredService<AzureStorageOrchestrationService>(), recovery / 4, services.GetRequiredService<ILogger<RenewingOrchestrationService>>()));
        builder.Services.AddSingleton<IOrchestrationService>(s => s.GetRequiredService<RenewingOrchestrationService>());
        builder.Services.AddSingleton<IOrchestrationServiceClient>(s => s.GetRequiredService<RenewingOrchestrationService>());
        builder.Services.AddOptions<TaskHubGrpcServerOptions>().Configure(options =>
            options.Mode = runsTasks ? TaskHubGrpcServerMode.ApiServerAndDispatcher : TaskHubGrpcServerMode.ApiServerOnly);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        builder.Services.AddHostedService(services => new RoleReport(hub, runsTasks, services.GetRequiredService<ILogger<RoleReport>>()));

        var address = $"http://127.0.0.1:{port}";
        if (runsTasks)
        {
            // Only a host that runs the durable tasks creates the hub's queues and tables; a serving host just reads them.
            builder.Services.AddHostedService<TaskHubCreator>();
            builder.Services.AddDurableTaskWorker(worker =>
            {
                worker.AddTasks(tasks => tasks.AddMlopsTasks());
                worker.UseGrpc(address);
            });
        }

        builder.Services.AddDurableTaskClient(client => client.UseGrpc(address));
    }

    public static void MapDurableSidecar(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Only on the sidecar's own loopback port: the public API port never exposes the durable backend.
        app.MapGrpcService<TaskHubGrpcServer>().RequireHost($"*:{app.Services.GetRequiredService<SidecarPort>().Port}");

        // The server starts its dispatchers from the ApplicationStarted callback it registers when constructed.
        app.Services.GetRequiredService<TaskHubGrpcServer>();
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The h2c loopback port the sidecar listens on.</summary>
    private sealed record SidecarPort(int Port);

    /// <summary>Creates the task hub's queues and tables before anything dispatches.</summary>
    private sealed class TaskHubCreator(AzureStorageOrchestrationService service) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => service.CreateIfNotExistsAsync();

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Says at start whether this host works the task hub or only reads it, so a wrong role shows in the log.</summary>
    private sealed partial class RoleReport(string hub, bool runsTasks, ILogger<RoleReport> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (runsTasks)
            {
                LogWorker(logger, hub);
            }
            else
            {
                LogApiOnly(logger, hub);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Durable task hub {Hub}: worker and dispatchers running")]
        private static partial void LogWorker(ILogger logger, string hub);

        [LoggerMessage(Level = LogLevel.Information, Message = "Durable task hub {Hub}: API only (no worker, no dispatcher: this host takes no work items)")]
        private static partial void LogApiOnly(ILogger logger, string hub);
    }
}
