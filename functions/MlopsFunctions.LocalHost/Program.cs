using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Telemetry;
using MlopsFunctions.Functions;
using MlopsFunctions.LocalHost;
using OpenTelemetry;
using OpenTelemetry.Trace;

// LocalHost runs the Functions app's own function classes on Kestrel, with the durable backend in-process
// (DESIGN.md section 2), for machines where Azure Functions Core Tools cannot be installed.
// Kestrel gets explicit endpoints (the public HTTP/1.1 one and the sidecar's h2c port), so the public URLs are
// taken out of the arguments and environment before the host reads them, instead of being overridden later.
if (WorkerProcess.TryRunChild(args, out var workerExit,
    MlopsFunctions.Core.Data.ValidatorProcess.Mode, MlopsFunctions.Core.Training.TrainerProcess.Mode, MlopsFunctions.Core.Evaluation.EvaluatorProcess.Mode))
{
    return workerExit; // this process validates, trains or evaluates for a host (see WorkerProcess)
}

var (urls, hostArgs) = PublicUrls.Take(args);
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = hostArgs, ContentRootPath = AppContext.BaseDirectory });
if (string.IsNullOrWhiteSpace(builder.Configuration["AzureWebJobsStorage"]) &&
    !builder.Configuration.GetSection("AzureWebJobsStorage").GetChildren().Any())
{
    Console.Error.WriteLine("AzureWebJobsStorage is not set: export it (a connection string, e.g. Azurite's) or run scripts/start.sh.");
    return 2;
}

Roles roles;
try
{
    roles = HostRole.FromConfiguration(builder.Configuration);
}
catch (InvalidOperationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

// Keys are checked like the Functions host checks them; without an admin key LocalHost refuses to start rather than
// serve Admin routes (swap, rollback, approve, PUT spec) to anyone, or invent a key a user would have to fish from a log.
var (keys, keyErrors) = KeyRing.Create(builder.Configuration.GetSection(LocalHostOptions.Section).Get<LocalHostOptions>() ?? new LocalHostOptions());
if (keys is null)
{
    foreach (var error in keyErrors)
    {
        Console.Error.WriteLine(error);
    }

    return 2;
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    foreach (var url in urls.Select(u => new Uri(u.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal))))
    {
        Action<ListenOptions> http1 = listen => listen.Protocols = HttpProtocols.Http1;
        if (url.Host == "localhost")
        {
            kestrel.ListenLocalhost(url.Port, http1);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(url.Host), url.Port, http1);
        }
    }
});

// The durable worker holds a gRPC stream open to this same server: a short drain keeps Ctrl+C quick.
builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
builder.Services.AddMlops(builder.Configuration);
try
{
    // The same instrumentation as the Functions app (Core); only the exporters come from the settings:
    // Mlops__Telemetry=console|otlp, and Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set.
    // Like the Functions worker's invocation spans in Azure, LocalHost's HTTP server spans (public API only, not the durable
    // sidecar's gRPC calls) are the parents of the predict spans: without them a predict span, under an unrecorded request,
    // would not be sampled. Query values are redacted by the instrumentation; headers (keys) are never recorded.
    builder.Services.AddMlopsTelemetry(builder.Configuration)?.WithTracing(tracing => tracing.AddAspNetCoreInstrumentation(
        options => options.Filter = context => context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)));
}
catch (InvalidOperationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

builder.Services.AddMvcCore();
builder.Services.Configure<LocalHostOptions>(builder.Configuration.GetSection(LocalHostOptions.Section));
builder.AddDurableSidecar(roles);

// Only the role's functions exist in this host: other routes answer 404 like any absent route, and the blob and
// timer triggers (pipeline functions) start only in a pipeline or all host.
var functions = FunctionDescriptor.Discover(typeof(IncomingDataFunction).Assembly).Where(f => roles.Runs(f.Roles)).ToList();
var pollSeconds = builder.Configuration.GetSection(LocalHostOptions.Section).Get<LocalHostOptions>()?.BlobPollSeconds ?? 1;
foreach (var function in functions)
{
    if (function.Blob is not null)
    {
        builder.Services.AddSingleton<IHostedService>(s => ActivatorUtilities.CreateInstance<IncomingBlobWatcher>(
            s, function, s.GetRequiredService<BlobServiceClient>(), s.GetRequiredService<TableServiceClient>(), TimeSpan.FromSeconds(pollSeconds)));
    }
    else if (function.Timer is not null)
    {
        builder.Services.AddSingleton<IHostedService>(s => ActivatorUtilities.CreateInstance<TimerFunctionRunner>(s, function, TimeProvider.System));
    }
}

builder.Services.AddSingleton<IReadOnlyList<FunctionDescriptor>>(functions);
var app = builder.Build();
app.UseFunctionKeys(keys);
app.MapDurableSidecar();
app.MapHttpFunctions(functions);
await app.RunAsync();
return 0;

/// <summary>Lets tests start LocalHost in-process or find its assembly.</summary>
public partial class Program;
