using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>
/// The operators' page: an HTML shell and its script and stylesheet, all anonymous because they hold no data; the page
/// calls the keyed API routes with the key the operator enters.
/// </summary>
public static class DashboardFunctions
{
    [Function("Dashboard")]
    [Role(Roles.All)]
    public static IActionResult Page(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);

        // The shell links its files relative to /api/dashboard; from /api/dashboard/ they would resolve one level too deep.
        if (request.Path.HasValue && request.Path.Value.EndsWith('/'))
        {
            return new RedirectResult(request.PathBase + request.Path.Value.TrimEnd('/') + request.QueryString);
        }

        return new DashboardAssetResult(DashboardAssets.Find(DashboardAssets.Shell)
            ?? throw new InvalidOperationException($"The dashboard's {DashboardAssets.Shell} is not embedded in the app."));
    }

    [Function("DashboardAsset")]
    [Role(Roles.All)]
    public static IActionResult Asset(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/{asset}")] HttpRequest request, string asset) =>
        DashboardAssets.Find(asset) is { } file
            ? new DashboardAssetResult(file)
            : ApiResults.Problem(ApiProblem.NotFound("asset-not-found",
                $"The dashboard has no file '{asset}'; open /api/dashboard (its files: {string.Join(", ", DashboardAssets.Names.Order(StringComparer.Ordinal))})."));
}
