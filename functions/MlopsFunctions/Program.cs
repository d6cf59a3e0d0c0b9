using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Hosting;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Telemetry;
using MlopsFunctions.Core.Training;

if (WorkerProcess.TryRunChild(args, out var workerExit, ValidatorProcess.Mode, TrainerProcess.Mode, EvaluatorProcess.Mode))
{
    return workerExit; // this process validates, trains or evaluates for the worker (see WorkerProcess)
}

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddMlops(builder.Configuration);
// Traces and metrics when an exporter is configured (Azure Monitor in Azure); the worker's defaults name the app after its
// site and put our spans under the invocation the host started, so they correlate with the host's telemetry.
builder.Services.AddMlopsTelemetry(builder.Configuration)?.UseFunctionsWorkerDefaults();
var durable = builder.ConfigureDurableWorker();

// The host learns the class-based durable tasks from this registration (the extension's metadata transformer adds one
// orchestrationTrigger/activityTrigger function per task), so a serving app registers none: its host then indexes no
// durable trigger and never starts a task hub worker. AzureWebJobs.<task>.Disabled settings in infra/ say the same.
if (HostRole.FromConfiguration(builder.Configuration).Runs(HostRole.DurableTasks))
{
    durable.AddTasks(tasks => tasks.AddMlopsTasks());
}

builder.Build().Run();
return 0;
