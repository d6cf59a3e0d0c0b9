using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Monitoring;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>
/// The monitoring loop over HTTP: ground truth for earlier predictions (stored at once, joined by the monitor), the
/// monitor's view of a model's feedback and live metric, and its per-hour drift reports.
/// </summary>
public sealed class MonitoringFunctions(FeedbackIntake intake, ModelMonitor monitor, DriftReports drift, ModelRegistry registry, TimeProvider time)
{
    /// <summary>Applications send labels like they predict: bodies over the predict limits get 413 before they are parsed.</summary>
    [Function("PostFeedback")]
    [Role(Roles.Serving)]
    public async Task<IActionResult> PostFeedback(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "models/{model}/feedback")] HttpRequest request, string model, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        var (receipt, problem) = await intake.ReceiveAsync(model, request.Body, request.ContentLength, ct).ConfigureAwait(false);
        return problem is not null
            ? ApiResults.Problem(problem)
            : ApiResults.Json(new
            {
                model,
                received = receipt!.Received,
                recorded = receipt.Recorded,
                duplicates = receipt.Duplicates,
                status = $"/api/models/{model}/feedback",
            }, StatusCodes.Status202Accepted);
    }

    [Function("GetFeedback")]
    [Role(Roles.All)]
    public async Task<IActionResult> GetFeedback(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{model}/feedback")] HttpRequest request, string model, CancellationToken ct)
    {
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        if (await registry.GetSpecAsync(model, ct).ConfigureAwait(false) is null)
        {
            return ModelFunctions.NotFound(model);
        }

        var state = await monitor.ReadStateAsync(model, ct).ConfigureAwait(false) ?? new MonitorState();
        return ApiResults.Json(new
        {
            model,
            checkedAt = state.LastCheck,
            version = state.Version,
            feedback = new
            {
                state.Counts.Received,
                state.Counts.Joined,
                state.Counts.Corrected,
                state.Counts.Repeated,
                state.Counts.Unknown,
                waiting = state.Waiting.Count,
                notInDataset = state.UnlabelledRows,
            },
            live = state.Live,
            alarms = new { drift = state.Drift, decay = state.Decay },
            datasets = state.Datasets.AsEnumerable().Reverse(),
        });
    }

    /// <summary>Per-hour drift reports in [from, to] (ISO 8601; default the last 24 hours), oldest first.</summary>
    [Function("GetDrift")]
    [Role(Roles.All)]
    public async Task<IActionResult> GetDrift(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{model}/drift")] HttpRequest request, string model, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        var now = time.GetUtcNow();
        DateTimeOffset? Bound(string name, out ContentResult? bad)
        {
            bad = null;
            if (!request.Query.TryGetValue(name, out var raw))
            {
                return null;
            }

            if (SlotHistory.ParseInstant(raw.ToString()) is { } parsed)
            {
                return parsed;
            }

            bad = ApiResults.Problem(ApiProblem.BadRequest("invalid-time",
                $"'{raw}' ({name}) is not an ISO 8601 time: use e.g. 2026-01-31T12:00:00Z (or a +hh:mm offset; a date alone means its midnight UTC)."));
            return null;
        }

        var to = Bound("to", out var badTo) ?? now;
        var from = Bound("from", out var badFrom) ?? to.AddHours(-24);
        if ((badFrom ?? badTo) is { } bad)
        {
            return bad;
        }

        if (from > to)
        {
            return ApiResults.Problem(ApiProblem.BadRequest("invalid-range", $"'from' ({from:O}) is after 'to' ({to:O}): swap them."));
        }

        var spec = await registry.GetSpecAsync(model, ct).ConfigureAwait(false);
        if (spec is null)
        {
            return ModelFunctions.NotFound(model);
        }

        var (reports, truncated) = await drift.ListAsync(model, from, to, ct).ConfigureAwait(false);
        return ApiResults.Json(new
        {
            model,
            from,
            to,
            threshold = spec.Monitoring?.PsiThreshold ?? ModelMonitor.DefaultPsiThreshold,
            truncated,
            reports = reports.Select(r => new
            {
                hour = r.Hour,
                version = r.Version,
                rows = r.Rows,
                judged = r.Judged,
                minRows = r.MinRows,
                maxPsi = r.MaxPsi,
                drifted = r.Drifted,
                checkedAt = r.CheckedAt,
                features = r.Features.Select(f => new { name = f.Name, psi = f.Psi, level = f.Level, rows = f.Rows, missing = f.Missing }),
            }),
        });
    }
}
