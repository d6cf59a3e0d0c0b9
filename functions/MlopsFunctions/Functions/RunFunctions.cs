using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>Pipeline runs: one by id, or a model's runs newest first.</summary>
public static class RunFunctions
{
    [Function("GetRun")]
    [Role(Roles.All)]
    public static async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{instanceId}")] HttpRequest request,
        string instanceId, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        var run = await RunQueries.GetAsync(client, instanceId, ct).ConfigureAwait(false);
        return run is null
            ? ApiResults.Problem(ApiProblem.NotFound("run-not-found", $"No pipeline run has id '{instanceId}'; GET /api/models/{{model}}/runs lists a model's runs."))
            : ApiResults.Json(run);
    }

    [Function("ListModelRuns")]
    [Role(Roles.All)]
    public static async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{model}/runs")] HttpRequest request,
        string model, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        return ApiResults.Json(new { model, runs = await RunQueries.ListAsync(client, model, ct).ConfigureAwait(false) });
    }
}
