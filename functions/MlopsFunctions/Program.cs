using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Hosting;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Pipeline;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddMlops(builder.Configuration);
builder.ConfigureDurableWorker().AddTasks(tasks => tasks.AddMlopsTasks());
builder.Build().Run();
