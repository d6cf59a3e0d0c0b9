using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Http;

/// <summary>
/// JSON responses written with the product's own serializer settings, so both hosts return the same bytes, and the
/// mapping of user errors to 4xx (never 500).
/// </summary>
public static class ApiResults
{
    public static ContentResult Json(object value, int status = StatusCodes.Status200OK) => new()
    {
        Content = Core.Json.Serialize(value),
        ContentType = "application/json; charset=utf-8",
        StatusCode = status,
    };

    public static ContentResult Problem(ApiProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return Json(new { error = problem.Error, message = problem.Message, details = problem.Details }, problem.Status);
    }

    /// <summary>The 400 for a route's model name that breaks the naming rule, or null when it is valid.</summary>
    public static ContentResult? InvalidModelName(string model) => ModelName.IsValid(model)
        ? null
        : Problem(ApiProblem.BadRequest("invalid-model-name", $"'{model}' is not a valid model name: use {ModelName.Rule}."));

    public static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Who made an operator call (Admin routes only): see <see cref="CallerIdentity.Actor"/>; never a header a caller can set.</summary>
    public static string Actor(HttpRequest request) => CallerIdentity.Actor(request, CallerIdentity.AppServiceAuthEnabled);
}
