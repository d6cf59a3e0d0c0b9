using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>
/// Operator calls that move versions between slots: swap, rollback, approve/reject, retrain. A version goes into
/// production by swap or rollback only after it passes the smoke test (409 with the reason otherwise), and the call
/// returns once this instance serves the new state.
/// </summary>
public sealed class SlotFunctions(ModelRegistry registry, ModelCache cache, SmokeTester smoke, PipelineStarter starter, RunStore runs)
{
    [Function("SwapSlots")]
    [Role(Roles.Pipeline)]
    public Task<IActionResult> Swap(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "models/{model}/swap")] HttpRequest request, string model, CancellationToken ct) =>
        ChangeSlotsAsync(model, ApiResults.Actor(request), slots => slots.Staging, (version, smokeResult) =>
            registry.SwapAsync(model, ApiResults.Actor(request), $"swap requested over HTTP; {smokeResult}", version, ct), ct);

    [Function("Rollback")]
    [Role(Roles.Pipeline)]
    public Task<IActionResult> Rollback(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "models/{model}/rollback")] HttpRequest request, string model, CancellationToken ct) =>
        ChangeSlotsAsync(model, ApiResults.Actor(request), slots => slots.History.Count > 0 ? slots.History[^1] : null, (version, smokeResult) =>
            registry.RollbackAsync(model, ApiResults.Actor(request), $"rollback requested over HTTP; {smokeResult}", version, ct), ct);

    [Function("ApproveVersion")]
    [Role(Roles.Pipeline)]
    public Task<IActionResult> Approve(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "models/{model}/versions/{version}/approve")] HttpRequest request,
        string model, string version, [DurableClient] DurableTaskClient client, CancellationToken ct) =>
        DecideAsync(request, model, version, approved: true, client, ct);

    [Function("RejectVersion")]
    [Role(Roles.Pipeline)]
    public Task<IActionResult> Reject(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "models/{model}/versions/{version}/reject")] HttpRequest request,
        string model, string version, [DurableClient] DurableTaskClient client, CancellationToken ct) =>
        DecideAsync(request, model, version, approved: false, client, ct);

    [Function("RetrainModel")]
    [Role(Roles.Pipeline)]
    public async Task<IActionResult> Retrain(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "models/{model}/retrain")] HttpRequest request,
        string model, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        var body = await ApiResults.ReadBodyAsync(request, ct).ConfigureAwait(false);
        var (source, replay, invalidBody) = RetrainSource(model, body);
        if (invalidBody is not null)
        {
            return ApiResults.Problem(invalidBody);
        }

        var runId = replay is { } v ? RunIds.ForReplay(model, v, DateTimeOffset.UtcNow) : RunIds.ForManual(model, DateTimeOffset.UtcNow);
        var (result, problem) = await starter.StartRetrainAsync(
            client, model, replay is null ? "manual" : "replay", runId, ApiResults.Actor(request), source, replay: replay, ct: ct).ConfigureAwait(false);
        return problem is not null
            ? ApiResults.Problem(problem)
            : ApiResults.Json(new { model, instanceId = result!.InstanceId, runId = result.InstanceId, result.Message, status = $"/api/runs/{result.InstanceId}" },
                StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// The optional body of a retrain: {"source": "rejected/{model}/file.csv"} or {"dataset": "&lt;sha256&gt;"} re-runs one
    /// file; {"replay": N} reproduces version N from its lineage (its datasets, spec, seed and split).
    /// </summary>
    private static (string? Source, int? Replay, ApiProblem? Problem) RetrainSource(string model, string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null, null);
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("source", out var source) && source.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                return (source.GetString(), null, null);
            }

            if (root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("replay", out var replay) &&
                replay.ValueKind == System.Text.Json.JsonValueKind.Number && replay.TryGetInt32(out var version) && version > 0)
            {
                return (null, version, null);
            }

            if (root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("dataset", out var dataset) && dataset.ValueKind == System.Text.Json.JsonValueKind.String &&
                dataset.GetString() is { Length: 64 } sha && sha.All(char.IsAsciiHexDigitLower))
            {
                return (Core.Storage.BlobPath.Dataset(model, sha).ToString(), null, null);
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return (null, null, ApiProblem.BadRequest("invalid-body",
            $"The body of a retrain is empty (train on the accepted data), or {{\"source\": \"rejected/{model}/<file>\"}}, or {{\"dataset\": \"<sha256>\"}}, or {{\"replay\": <version>}}."));
    }

    /// <summary>
    /// Smoke-tests the version the change would put into production, makes the change only for that version (ETag-guarded
    /// in the registry), then reloads this instance's serving state so the new version answers when the call returns.
    /// </summary>
    private async Task<IActionResult> ChangeSlotsAsync(
        string model, string actor, Func<SlotState, int?> incoming, Func<int?, string, Task<SlotState>> change, CancellationToken ct)
    {
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        if (await registry.GetSpecAsync(model, ct).ConfigureAwait(false) is null)
        {
            return ModelFunctions.NotFound(model);
        }

        var before = await registry.GetSlotsAsync(model, ct).ConfigureAwait(false);
        var candidate = incoming(before);
        var tested = "nothing to smoke-test";
        if (candidate is { } version)
        {
            var result = await smoke.TestAndRecordAsync(model, version, actor, warmCache: true, ct).ConfigureAwait(false);
            if (!result.Passed)
            {
                return ApiResults.Problem(ApiProblem.Conflict("smoke-test-failed",
                    $"v{version} of '{model}' was not put into production: {result.Reason} Production keeps v{before.Production}."));
            }

            tested = result.Reason;
        }

        try
        {
            var slots = await change(candidate, tested).ConfigureAwait(false);
            try
            {
                await cache.ReloadAsync(model, ct).ConfigureAwait(false);
            }
            catch (ModelUnavailableException)
            {
                // The change is made; serving picks it up at its next refresh.
            }

            return ApiResults.Json(new { model, production = slots.Production, staging = slots.Staging, previousProduction = slots.History });
        }
        catch (RegistryConflictException ex)
        {
            return ApiResults.Problem(ApiProblem.Conflict("slot-conflict", ex.Message));
        }
    }

    private async Task<IActionResult> DecideAsync(
        HttpRequest request, string model, string version, bool approved, DurableTaskClient client, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        var record = int.TryParse(version, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? await registry.GetVersionAsync(model, number, ct).ConfigureAwait(false)
            : null;
        if (record is null)
        {
            return ApiResults.Problem(ApiProblem.NotFound("version-not-found", $"Model '{model}' has no version '{version}'."));
        }

        if (record.Status != VersionStatus.AwaitingApproval)
        {
            return ApiResults.Problem(ApiProblem.Conflict("not-awaiting-approval",
                $"Version {number} of '{model}' is {record.Status}, not awaiting approval."));
        }

        // Only a run that will wait for the decision can take it; otherwise the event would vanish silently. The version
        // turns awaiting-approval in the staging step, just before the run waits: Durable buffers an event raised in
        // between, so a decision is taken from that moment on, not only once the run's stage has caught up.
        var run = await runs.GetAsync(model, record.RunId, ct).ConfigureAwait(false);
        var instanceId = record.InstanceId ?? run?.InstanceId ?? record.RunId;
        var instance = await client.GetInstanceAsync(instanceId, ct).ConfigureAwait(false);
        if (run is not { Status: RunStatuses.Running, Stage: Stages.AwaitingApproval or Stages.Staging or Stages.Registering }
            || instance?.RuntimeStatus != OrchestrationRuntimeStatus.Running)
        {
            return ApiResults.Problem(ApiProblem.Conflict("not-awaiting-approval",
                $"Version {number} of '{model}' is marked awaiting approval, but run {record.RunId} is not waiting for a decision ({run?.Status ?? "unknown"}, {run?.Stage ?? "no stage"})."));
        }

        var reason = request.Query["reason"].ToString();
        await client.RaiseEventAsync(instanceId, RunIds.ApprovalEvent,
            new ApprovalDecision(approved, ApiResults.Actor(request), string.IsNullOrWhiteSpace(reason) ? null : reason), ct).ConfigureAwait(false);
        return ApiResults.Json(new { model, version = number, decision = approved ? "approved" : "rejected", runId = record.RunId }, StatusCodes.Status202Accepted);
    }
}
