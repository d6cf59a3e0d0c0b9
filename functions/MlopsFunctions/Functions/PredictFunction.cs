using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>
/// Predictions from the production slot (or ?slot=staging), always saying which version answered; a caller sending
/// x-caller-id keeps its canary assignment. Bodies over the size or row limits get 413 before they are parsed.
/// </summary>
public sealed class PredictFunction(PredictionService predictions)
{
    [Function("Predict")]
    [Role(Roles.Serving)]
    public async Task<IActionResult> Predict(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "models/{model}/predict")] HttpRequest request, string model, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (ApiResults.InvalidModelName(model) is { } invalid)
        {
            return invalid;
        }

        var slot = request.Query["slot"].ToString() is { Length: > 0 } s ? s : Slots.Production;
        var (body, tooLarge) = await predictions.ReadBodyAsync(request.Body, request.ContentLength, ct).ConfigureAwait(false);
        if (tooLarge is not null)
        {
            return ApiResults.Problem(tooLarge);
        }

        try
        {
            var caller = request.Headers[PredictionService.CallerHeader].ToString();
            var (response, problem) = await predictions.PredictAsync(model, slot, body!, caller, ct).ConfigureAwait(false);
            return problem is not null ? ApiResults.Problem(problem) : new PredictResult(response!);
        }
        catch (ModelUnavailableException ex)
        {
            return ApiResults.Problem(new ApiProblem(StatusCodes.Status503ServiceUnavailable, "model-unavailable", ex.Message));
        }
    }
}
