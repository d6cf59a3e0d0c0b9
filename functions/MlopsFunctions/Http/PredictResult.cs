using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using MlopsFunctions.Core.Serving;

namespace MlopsFunctions.Http;

/// <summary>
/// The predict answer, written straight to the response as UTF-8 JSON with a Content-Length: no reflection-based
/// serialization, no intermediate string and no MVC result executor on the hottest route. Any host that executes an
/// IActionResult (the Functions worker, LocalHost) writes the same bytes.
/// </summary>
public sealed class PredictResult(PredictResponse response) : IActionResult
{
    public PredictResponse Response { get; } = response;

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var json = Response.Utf8;
        var http = context.HttpContext.Response;
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = "application/json; charset=utf-8";
        http.ContentLength = json.Length;
        await http.Body.WriteAsync(json, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
