using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>Pipeline runs: one by id, or a model's runs newest first (from the runs table, so no durable client is needed).</summary>
public sealed class RunFunctions(RunStore runs)
{
    [Function("GetRun")]
    [Role(Roles.All)]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{instanceId}")] HttpRequest request,
        string instanceId, CancellationToken ct)
    {
        var run = await RunQueries.GetAsync(runs, instanceId, ct).ConfigureAwait(false);
        return run is null
            ? ApiResults.Problem(ApiProblem.NotFound("run-not-found", $"No pipeline run has id '{instanceId}'; GET /api/models/{{model}}/runs lists a model's runs."))
            : ApiResults.Json(run);
    }

    [Function("ListModelRuns")]
    [Role(Roles.All)]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{model}/runs")] HttpRequest request,
        string model, CancellationToken ct)
    {
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        return ApiResults.Json(new { model, runs = await RunQueries.ListAsync(runs, model, ct).ConfigureAwait(false) });
    }
}
