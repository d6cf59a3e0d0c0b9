using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Http;

namespace MlopsFunctions.Functions;

/// <summary>Anonymous liveness and dependency check, used by deployment smoke tests before a slot swap.</summary>
public sealed class HealthFunction(StorageHealth health)
{
    [Function("Health")]
    [Role(Roles.All)]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request, CancellationToken ct)
    {
        var report = await health.CheckAsync(ct).ConfigureAwait(false);
        return ApiResults.Json(report, report.Status == "healthy" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
