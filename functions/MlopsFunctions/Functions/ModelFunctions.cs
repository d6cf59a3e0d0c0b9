using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>Model specs and the registry's read side: define a model, list models, read a model (with its serving monitoring), one version (with its documents), or its slot history.</summary>
public sealed partial class ModelFunctions(ModelRegistry registry, VersionDocuments documents, ModelCache cache, ServingMonitor monitor, ILogger<ModelFunctions> logger)
{
    [Function("PutModelSpec")]
    [Role(Roles.Pipeline)]
    public async Task<IActionResult> PutSpec(
        [HttpTrigger(AuthorizationLevel.Admin, "put", Route = "models/{model}")] HttpRequest request, string model, CancellationToken ct)
    {
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        var parsed = ModelSpecParser.Parse(await ApiResults.ReadBodyAsync(request, ct).ConfigureAwait(false));
        if (parsed.Spec is null)
        {
            return ApiResults.Problem(ApiProblem.BadRequest("invalid-spec", $"The spec of '{model}' is not valid: {parsed.Errors[0]}", parsed.Errors));
        }

        var created = await registry.PutSpecAsync(model, parsed.Spec, ct).ConfigureAwait(false);
        cache.InvalidateSlots(model); // capture, canary and shadow settings apply on this instance at once
        LogSpecSaved(logger, model, created);
        return ApiResults.Json(new { model, spec = parsed.Spec, created }, created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    [Function("ListModels")]
    [Role(Roles.All)]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models")] HttpRequest request, CancellationToken ct)
    {
        var models = await registry.ListModelsAsync(ct).ConfigureAwait(false);
        return ApiResults.Json(new
        {
            models = models.Where(m => m.Spec is not null).Select(m => new
            {
                name = m.Name,
                task = m.Spec!.Task,
                production = m.Slots.Production,
                staging = m.Slots.Staging,
                versions = m.LastVersion,
            }),
        });
    }

    [Function("GetModel")]
    [Role(Roles.All)]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{model}")] HttpRequest request, string model, CancellationToken ct)
    {
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        var summary = await registry.GetSummaryAsync(model, ct).ConfigureAwait(false);
        if (summary is null)
        {
            return NotFound(model);
        }

        var versions = await registry.ListVersionsAsync(model, ct).ConfigureAwait(false);
        var events = await registry.ListEventsAsync(model, ct).ConfigureAwait(false);
        var monitoring = await monitor.SummarizeAsync(model, new ServingState(summary.Slots, summary.Spec), ct).ConfigureAwait(false);
        return ApiResults.Json(new
        {
            name = model,
            spec = summary.Spec,
            slots = new { production = summary.Slots.Production, staging = summary.Slots.Staging, previousProduction = summary.Slots.History },
            versions = versions.Select(v => new
            {
                version = v.Version,
                status = v.Status,
                slot = SlotOf(summary.Slots, v.Version),
                reason = v.StatusReason,
                metric = v.Metric,
                value = v.MetricValue,
                metrics = v.Metrics,
                createdAt = v.CreatedAt,
                runId = v.RunId,
                dataset = v.Lineage.Dataset,
            }),
            history = events.Reverse(),
            monitoring,
        });
    }

    /// <summary>
    /// The model's registry events, oldest first; with ?at=, the version that was in production at that instant, read
    /// from the events alone (each slot change records production before and after, with its time).
    /// </summary>
    [Function("GetModelHistory")]
    [Role(Roles.All)]
    public async Task<IActionResult> History(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{model}/history")] HttpRequest request, string model, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        DateTimeOffset? at = null;
        if (request.Query.TryGetValue("at", out var raw))
        {
            if (SlotHistory.ParseInstant(raw.ToString()) is not { } parsed)
            {
                return ApiResults.Problem(ApiProblem.BadRequest("invalid-time",
                    $"'{raw}' is not an ISO 8601 time: use e.g. 2026-01-31T12:00:00Z (or a +hh:mm offset; a date alone means its midnight UTC)."));
            }

            at = parsed;
        }

        if (await registry.GetSpecAsync(model, ct).ConfigureAwait(false) is null)
        {
            return NotFound(model);
        }

        var events = await registry.ListEventsAsync(model, ct).ConfigureAwait(false);
        if (at is not { } instant)
        {
            return ApiResults.Json(new { model, events });
        }

        var since = SlotHistory.ProductionAt(events, instant);
        return ApiResults.Json(new { model, at = instant, production = since?.ProductionAfter, since });
    }

    [Function("GetModelVersion")]
    [Role(Roles.All)]
    public async Task<IActionResult> GetVersion(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{model}/versions/{version}")] HttpRequest request,
        string model, string version, CancellationToken ct)
    {
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        if (!int.TryParse(version, System.Globalization.CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            return ApiResults.Problem(ApiProblem.BadRequest("invalid-version", $"'{version}' is not a version number: versions are 1, 2, 3..."));
        }

        var record = await registry.GetVersionAsync(model, number, ct).ConfigureAwait(false);
        if (record is null)
        {
            return ApiResults.Problem(ApiProblem.NotFound("version-not-found", $"Model '{model}' has no version {number}."));
        }

        var slots = await registry.GetSlotsAsync(model, ct).ConfigureAwait(false);
        var details = await documents.LoadAsync(record, ct).ConfigureAwait(false);
        return ApiResults.Json(new
        {
            model,
            slot = SlotOf(slots, number),
            version = record,
            schema = details.Schema,
            profile = details.Profile,
            evaluation = details.Evaluation,
            validation = details.Validation,
        });
    }

    internal static ContentResult NotFound(string model) => ApiResults.Problem(ApiProblem.NotFound(
        "model-not-found", $"Model '{model}' is not defined: create it with PUT /api/models/{model} and a JSON spec."));

    private static string? SlotOf(SlotState slots, int version) =>
        slots.Production == version ? Slots.Production : slots.Staging == version ? Slots.Staging : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Spec of {Model} saved (created: {Created})")]
    private static partial void LogSpecSaved(ILogger logger, string model, bool created);
}
