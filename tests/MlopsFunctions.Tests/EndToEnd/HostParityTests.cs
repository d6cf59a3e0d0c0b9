using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Extensions.DurableTask.Execution;
using Microsoft.DurableTask;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Functions;
using MlopsFunctions.LocalHost;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>
/// Keeps the two hosts from drifting: every function in the app's functions.metadata (what Azure runs) is served by
/// LocalHost with the same trigger, path or route, methods and auth level, and every durable task is registered once.
/// </summary>
[Collection(LocalHostCollection.Name)]
public sealed class HostParityTests(LocalHostFixture host)
{
    private static readonly string[] ExpectedHttp =
    [
        "PUT models/{model} Admin", "GET models Function", "GET models/{model} Function",
        "GET models/{model}/versions/{version} Function", "POST models/{model}/predict Function",
        "POST models/{model}/swap Admin", "POST models/{model}/rollback Admin", "POST models/{model}/retrain Admin",
        "POST models/{model}/versions/{version}/approve Admin", "POST models/{model}/versions/{version}/reject Admin",
        "GET runs/{instanceId} Function", "GET models/{model}/runs Function", "GET health Anonymous",
        "GET models/{model}/history Function", "POST models/{model}/feedback Function", "GET models/{model}/feedback Function",
        "GET models/{model}/drift Function",
        "GET dashboard Anonymous", "GET dashboard/{asset} Anonymous",
    ];

    private static List<JsonElement> Metadata()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "functions.metadata");
        Assert.True(File.Exists(path), "functions.metadata is not next to the tests: the Worker SDK writes it when the app builds.");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    private static JsonElement Trigger(JsonElement function) =>
        function.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));

    [Fact]
    public void The_app_exposes_the_contract_routes_with_their_auth_levels()
    {
        var http = Metadata().Select(Trigger).Where(t => t.GetProperty("type").GetString() == "httpTrigger")
            .Select(t => $"{t.GetProperty("methods")[0].GetString()!.ToUpperInvariant()} {t.GetProperty("route").GetString()} {t.GetProperty("authLevel").GetString()}");

        Assert.Equal(ExpectedHttp.Order(), http.Order());
        var triggers = Metadata().ToDictionary(f => f.GetProperty("name").GetString()!, Trigger);
        Assert.Equal(("blobTrigger", "incoming/{model}/{name}"), (triggers["IncomingData"].GetProperty("type").GetString(), triggers["IncomingData"].GetProperty("path").GetString()));
        Assert.Equal(("timerTrigger", RetrainTimerFunction.Schedule), (triggers["RetrainTimer"].GetProperty("type").GetString(), triggers["RetrainTimer"].GetProperty("schedule").GetString()));
        Assert.Equal(("timerTrigger", MonitorTimerFunction.Schedule), (triggers["MonitorTimer"].GetProperty("type").GetString(), triggers["MonitorTimer"].GetProperty("schedule").GetString()));
    }

    [Fact]
    public void LocalHost_discovers_every_function_of_the_metadata_with_the_same_trigger()
    {
        var local = FunctionDescriptor.Discover(typeof(IncomingDataFunction).Assembly).ToDictionary(f => f.Name);

        foreach (var function in Metadata())
        {
            var name = function.GetProperty("name").GetString()!;
            Assert.True(local.TryGetValue(name, out var descriptor), $"LocalHost does not serve {name}");
            Assert.Equal(function.GetProperty("entryPoint").GetString(), $"{descriptor.Method.DeclaringType!.FullName}.{descriptor.Method.Name}");
            var trigger = Trigger(function);
            switch (descriptor.Trigger)
            {
                case HttpTriggerAttribute http:
                    Assert.Equal(trigger.GetProperty("route").GetString(), http.Route);
                    Assert.Equal(trigger.GetProperty("authLevel").GetString(), http.AuthLevel.ToString());
                    Assert.Equal(trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()), http.Methods!);
                    break;
                case BlobTriggerAttribute blob:
                    Assert.Equal(trigger.GetProperty("path").GetString(), blob.BlobPath);
                    break;
                case TimerTriggerAttribute timer:
                    Assert.Equal(trigger.GetProperty("schedule").GetString(), timer.Schedule);
                    break;
                default:
                    Assert.Fail($"Unexpected trigger on {name}");
                    break;
            }
        }

        Assert.Equal(Metadata().Count, local.Count);
    }

    [Fact]
    public async Task LocalHost_answers_every_http_route_from_the_function_itself()
    {
        foreach (var route in ExpectedHttp)
        {
            var parts = route.Split(' ');
            var path = "api/" + parts[1].Replace("{model}", "parity-none", StringComparison.Ordinal)
                .Replace("{version}", "1", StringComparison.Ordinal).Replace("{instanceId}", "parity-none.data.x", StringComparison.Ordinal)
                .Replace("{asset}", "parity-none.js", StringComparison.Ordinal);

            // The dashboard's page is HTML; an unknown file of it answers JSON like the API.
            if (path == "api/dashboard")
            {
                using var page = await host.Http.GetAsync(path);
                Assert.Equal((200, "text/html"), ((int)page.StatusCode, page.Content.Headers.ContentType?.MediaType));
                continue;
            }

            var (status, body) = await host.SendAsync(new HttpMethod(parts[0]), path, parts[0] == "PUT" ? """{"task":"regression","label":"y"}""" : null);

            // A routing miss would be an empty 404/405; every function answers JSON of its own.
            Assert.True(status is not (405 or 500), $"{route}: {status}");
            Assert.Equal(JsonValueKind.Object, body.ValueKind);
        }
    }

    [Fact]
    public void Every_durable_task_is_registered_once_through_AddMlopsTasks()
    {
        var registry = new DurableTaskRegistry().AddMlopsTasks();
        var orchestrators = registry.GetOrchestrators().Select(o => o.Key.Name).ToList();
        var activities = registry.GetActivities().Select(a => a.Key.Name).ToList();
        var defined = typeof(TrainingPipeline).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.BaseType is { IsGenericType: true } b &&
                        (b.GetGenericTypeDefinition() == typeof(TaskActivity<,>) || b.GetGenericTypeDefinition() == typeof(TaskOrchestrator<,>)))
            .Select(t => t.Name);

        Assert.Equal([nameof(TrainingPipeline)], orchestrators);
        Assert.Equal(defined.Order(), orchestrators.Concat(activities).Order());
        Assert.Equal(activities.Distinct().Count(), activities.Count);
    }
}
