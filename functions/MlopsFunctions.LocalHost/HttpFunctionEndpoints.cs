using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.Azure.Functions.Worker;

namespace MlopsFunctions.LocalHost;

/// <summary>Maps each HTTP function of the app to /api/{route} with its methods; its auth level is endpoint metadata that FunctionKeyAuthorization enforces.</summary>
public static class HttpFunctionEndpoints
{
    public const string RoutePrefix = "/api/";

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
                    var values = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var (key, value) in context.Request.RouteValues)
                    {
                        values[key] = value?.ToString();
                    }

                    values["request"] = context.Request;
                    var result = (IActionResult?)await FunctionInvoker.InvokeAsync(function, context.RequestServices, values, context.RequestAborted);
                    if (result is not null)
                    {
                        await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
                    }
                })
                .WithName(function.Name)
                .WithMetadata(new FunctionAuthLevel(http.AuthLevel));
        }
    }
}

/// <summary>The function's declared auth level: FunctionKeyAuthorization enforces it; tests compare it with functions.metadata.</summary>
public sealed record FunctionAuthLevel(AuthorizationLevel Level);
