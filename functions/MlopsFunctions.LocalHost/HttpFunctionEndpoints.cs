using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;

namespace MlopsFunctions.LocalHost;

/// <summary>Maps each HTTP function of the app to /api/{route} with its methods; its auth level is endpoint metadata that FunctionKeyAuthorization enforces.</summary>
public static class HttpFunctionEndpoints
{
    public const string RoutePrefix = "/api/";

    // Results only read the HTTP context; one descriptor spares a Guid and a dictionary per request.
    private static readonly ActionDescriptor NoAction = new();

    public static void MapHttpFunctions(this WebApplication app, IEnumerable<FunctionDescriptor> functions)
    {
        ArgumentNullException.ThrowIfNull(app);

        // The Functions host answers a path it serves only for other methods with 404, as an absent route; ASP.NET Core
        // would say 405. A host of one role then answers the other role's routes (PUT models/{model} beside GET) alike.
        app.Use(async (context, next) =>
        {
            await next(context);
            if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed && !context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                context.Response.Headers.Allow = default;
            }
        });

        foreach (var function in functions.Where(f => f.Http is not null))
        {
            var http = function.Http!;
            var methods = (http.Methods ?? ["get", "post"]).Select(m => m.ToUpperInvariant()).ToArray();
            app.MapMethods(RoutePrefix + http.Route, methods, async context =>
                {
                    var result = (IActionResult?)await FunctionInvoker.InvokeHttpAsync(function, context);
                    if (result is not null)
                    {
                        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(context.Request.RouteValues), NoAction));
                    }
                })
                .WithName(function.Name)
                .WithMetadata(new FunctionAuthLevel(http.AuthLevel));
        }
    }
}

/// <summary>The function's declared auth level: FunctionKeyAuthorization enforces it; tests compare it with functions.metadata.</summary>
public sealed record FunctionAuthLevel(AuthorizationLevel Level);
