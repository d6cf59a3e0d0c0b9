using System.Diagnostics;
using System.Diagnostics.Metrics;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MlopsFunctions.Core.Storage;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MlopsFunctions.Core.Telemetry;

/// <summary>
/// The product's one ActivitySource and one Meter ("MlopsFunctions"), its instruments, and the one registration of
/// OpenTelemetry for every host: Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set, the console or OTLP
/// when Mlops__Telemetry asks for them. With neither, nothing is registered and nothing listens, so the
/// instrumented paths cost a null check.
/// </summary>
/// <remarks>
/// Only names, ids, versions, counts, durations and outcome codes are recorded: never a request's or a file's values,
/// never an error message (they can quote a value), never a key or a connection string.
/// </remarks>
public static class MlopsTelemetry
{
    public const string Name = "MlopsFunctions";

    /// <summary>Configuration key of the local exporters (Mlops__Telemetry): none (default), console, otlp, or both as "console,otlp".</summary>
    public const string ExporterKey = "Mlops:Telemetry";

    /// <summary>Set by Azure (infra/main.bicep) to the Application Insights component both apps report to.</summary>
    public const string AppInsightsKey = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    public static ActivitySource Source { get; } = new(Name, StorageHealth.AppVersion);

    public static Meter Meter { get; } = new(Name, StorageHealth.AppVersion);

    /// <summary>Predict requests that reached a model (or were refused), by model, version, slot and outcome.</summary>
    public static Counter<long> PredictRequests { get; } =
        Meter.CreateCounter<long>("mlops.predict.requests", "{request}", "Predict requests, by model, version, slot and outcome");

    /// <summary>Rows scored, by model, version and slot.</summary>
    public static Counter<long> PredictRows { get; } =
        Meter.CreateCounter<long>("mlops.predict.rows", "{row}", "Rows scored, by model, version and slot");

    public static Histogram<double> PredictDuration { get; } =
        Meter.CreateHistogram<double>("mlops.predict.duration", "s", "Time to answer a parsed predict request, by model, version, slot and outcome");

    /// <summary>Finished pipeline runs, by model and outcome (promoted, gates-failed, failed...).</summary>
    public static Counter<long> Runs { get; } =
        Meter.CreateCounter<long>("mlops.pipeline.runs", "{run}", "Finished pipeline runs, by model and outcome");

    public static Histogram<double> RunDuration { get; } =
        Meter.CreateHistogram<double>("mlops.pipeline.run.duration", "s", "Pipeline runs from creation to end, by model and outcome");

    /// <summary>Each durable activity's time, by the stage it belongs to (training: one record per candidate).</summary>
    public static Histogram<double> StageDuration { get; } =
        Meter.CreateHistogram<double>("mlops.pipeline.stage.duration", "s", "Durable activity time, by stage, activity, model and outcome");

    /// <summary>
    /// Registers OpenTelemetry for the exporters the settings ask for, and returns its builder so a host can add its
    /// own defaults (the Functions worker's); null when no exporter is configured (nothing listens then).
    /// </summary>
    public static IOpenTelemetryBuilder? AddMlopsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var exporters = ParseExporters(configuration["Mlops:Telemetry"]); // a bad value stops the host here, with what to set
        var appInsights = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        var azureMonitor = !string.IsNullOrWhiteSpace(appInsights);
        if (exporters == Exporters.None && !azureMonitor)
        {
            return null;
        }

        return services.AddMlopsOpenTelemetry(tracing =>
        {
            if (azureMonitor)
            {
                tracing.AddAzureMonitorTraceExporter(o => o.ConnectionString = appInsights);
            }

            if (exporters.HasFlag(Exporters.Console))
            {
                tracing.AddConsoleExporter();
            }

            if (exporters.HasFlag(Exporters.Otlp))
            {
                tracing.AddOtlpExporter(); // OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL, as every OpenTelemetry SDK reads them
            }
        }, metrics =>
        {
            if (azureMonitor)
            {
                metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = appInsights);
            }

            if (exporters.HasFlag(Exporters.Console))
            {
                metrics.AddConsoleExporter();
            }

            if (exporters.HasFlag(Exporters.Otlp))
            {
                metrics.AddOtlpExporter();
            }
        });
    }

    /// <summary>The sources, meter and resource every host shares; the exporters are the caller's (tests bring in-memory ones).</summary>
    internal static IOpenTelemetryBuilder AddMlopsOpenTelemetry(
        this IServiceCollection services, Action<TracerProviderBuilder> tracing, Action<MeterProviderBuilder> metrics)
    {
        var builder = services.AddOpenTelemetry()
            // Our service name first, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, then a host's detectors (the
            // Functions worker's names each app after its site): later ones win.
            .ConfigureResource(resource => resource.Clear()
                .AddService(Name, serviceVersion: StorageHealth.AppVersion)
                .AddTelemetrySdk()
                .AddEnvironmentVariableDetector())
            .WithTracing(t =>
            {
                t.AddSource(Name);
                tracing(t);
            })
            .WithMetrics(m =>
            {
                m.AddMeter(Name);
                metrics(m);
            });
        return builder;
    }

    /// <summary>The local exporters Mlops__Telemetry names.</summary>
    [Flags]
    internal enum Exporters
    {
        None = 0,
        Console = 1,
        Otlp = 2,
    }

    /// <summary>Parses "none", "console", "otlp" or a comma-separated list of them (case-insensitive); empty means none.</summary>
    internal static Exporters ParseExporters(string? value)
    {
        var exporters = Exporters.None;
        foreach (var name in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            exporters |= name.ToUpperInvariant() switch
            {
                "NONE" => Exporters.None,
                "CONSOLE" => Exporters.Console,
                "OTLP" => Exporters.Otlp,
                _ => throw new InvalidOperationException(
                    $"Mlops__Telemetry is '{value}': set it to none (the default), console, otlp or console,otlp " +
                    "(Azure Monitor needs no setting here: it is on when APPLICATIONINSIGHTS_CONNECTION_STRING is set)."),
            };
        }

        return exporters;
    }
}
