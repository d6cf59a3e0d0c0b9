using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Core;
using MlopsFunctions.Http;

namespace MlopsFunctions.LocalHost;

/// <summary>
/// Enforces each HTTP function's auth level the way the Functions host does: a key from the x-functions-key header
/// (or, when that header is absent, ?code=), Function-level routes open to a function key or the admin key, Admin-level
/// routes to the admin key only, Anonymous routes to anyone. An accepted key becomes an authenticated HttpContext.User
/// with the host's claims, which is where the app reads the audit actor from.
/// </summary>
public static partial class FunctionKeyAuthorization
{
    public const string KeyHeader = "x-functions-key";
    public const string KeyQuery = "code";

    public static void UseFunctionKeys(this WebApplication app, KeyRing keys)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(keys);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FunctionKeyAuthorization));
        app.Use((context, next) => AuthorizeAsync(context, next, keys, logger));
    }

    /// <summary>The middleware itself: refuses with 401 or sets HttpContext.User and calls the endpoint.</summary>
    public static async Task AuthorizeAsync(HttpContext context, RequestDelegate next, KeyRing keys, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(keys);

        // Nothing in front of LocalHost authenticates users, so a client-sent App Service principal header is only
        // client input: drop it, as the App Service front end does, so no code path can ever trust it here.
        // (A scan that allocates only when such a header is there: Headers.Keys copies every name on every request.)
        List<string>? principalHeaders = null;
        foreach (var sent in context.Request.Headers)
        {
            if (sent.Key.StartsWith(CallerIdentity.ClientPrincipalHeader, StringComparison.OrdinalIgnoreCase))
            {
                (principalHeaders ??= []).Add(sent.Key);
            }
        }

        foreach (var name in principalHeaders ?? [])
        {
            context.Request.Headers.Remove(name);
        }

        var required = context.GetEndpoint()?.Metadata.GetMetadata<FunctionAuthLevel>()?.Level;
        if (required is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var presented = context.Request.Headers.TryGetValue(KeyHeader, out var header) ? header.ToString()
            : context.Request.Query.TryGetValue(KeyQuery, out var code) ? code.ToString()
            : null;
        var key = keys.Match(presented);
        if (key is { } accepted)
        {
            context.User = CallerIdentity.KeyPrincipal(accepted.Name, accepted.Level.ToString());
        }

        if (Refusal(required.Value, presented, key) is { } message)
        {
            LogRefused(logger, context.Request.Method, context.Request.Path, required.Value, key?.Name);
            var result = ApiResults.Problem(new ApiProblem(StatusCodes.Status401Unauthorized, "unauthorized", message));
            await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor())).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>Why a call is refused, in words a person can act on, or null when the key opens the route.</summary>
    public static string? Refusal(AuthorizationLevel required, string? presented, (string Name, AuthorizationLevel Level)? key)
    {
        const string how = $"send it in the {KeyHeader} header or the ?{KeyQuery}= query parameter";
        return required switch
        {
            AuthorizationLevel.Anonymous => null,
            AuthorizationLevel.Function when key is not null => null,
            _ when key?.Level == AuthorizationLevel.Admin => null,
            AuthorizationLevel.Function when string.IsNullOrEmpty(presented) => $"This route needs a function key or the admin key: {how}.",
            AuthorizationLevel.Function => $"The key sent is not a valid function key or admin key for this route: {how}.",
            _ when key is not null => $"This route needs the admin (master) key; the function key '{key.Value.Name}' only opens Function-level routes: {how}.",
            _ when string.IsNullOrEmpty(presented) => $"This route needs the admin (master) key: {how}.",
            _ => $"The key sent is not the admin (master) key, which this route needs: {how}.",
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Method} {Path}: needs {Required} level, key {KeyName}")]
    private static partial void LogRefused(ILogger logger, string method, PathString path, AuthorizationLevel required, string? keyName);
}
