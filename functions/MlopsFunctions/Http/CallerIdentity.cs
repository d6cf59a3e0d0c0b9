using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace MlopsFunctions.Http;

/// <summary>
/// Who is calling an operator route, read only from what a host or the platform vouches for, never from a header a
/// caller can set: the audit actor of approve, reject, swap, rollback and retrain.
/// </summary>
public static class CallerIdentity
{
    /// <summary>The claim the Functions host's key handler puts the key's name in ("master", or a function key's name).</summary>
    public const string KeyIdClaimType = "http://schemas.microsoft.com/2017/07/functions/claims/keyid";

    /// <summary>The claim the Functions host's key handler puts the key's level in (Function, Admin).</summary>
    public const string AuthLevelClaimType = "http://schemas.microsoft.com/2017/07/functions/claims/authlevel";

    /// <summary>The host's claim that the key may invoke HTTP functions directly.</summary>
    public const string InvokeClaimType = "http://schemas.microsoft.com/2017/07/functions/claims/invoke";

    /// <summary>The authentication type of the host's key identities (its AuthLevelAuthenticationDefaults scheme).</summary>
    public const string KeyAuthenticationType = "WebJobsAuthLevel";

    /// <summary>The name the Functions host gives the admin key.</summary>
    public const string MasterKeyName = "master";

    /// <summary>The setting App Service sets to "true" when its authentication (Easy Auth) fronts the app.</summary>
    public const string AppServiceAuthSetting = "WEBSITE_AUTH_ENABLED";

    public const string ClientPrincipalHeader = "X-MS-CLIENT-PRINCIPAL";

    /// <summary>Whether this process runs behind App Service authentication (read from the platform's environment).</summary>
    public static bool AppServiceAuthEnabled =>
        bool.TryParse(Environment.GetEnvironmentVariable(AppServiceAuthSetting), out var enabled) && enabled;

    /// <summary>
    /// The actor of an Admin-level call, in this order:
    /// 1. The App Service principal, only when the platform says its authentication is on (WEBSITE_AUTH_ENABLED=true):
    ///    then the front end authenticated the caller and injected X-MS-CLIENT-PRINCIPAL itself, dropping any such
    ///    header a client sent. Without that setting the header is just client input and is ignored.
    /// 2. The key identity on HttpContext.User (claim keyid): LocalHost sets it for every key it accepts, as the Functions
    ///    host's key handler does in its own process.
    /// 3. "master": the Functions host proxies requests to an isolated worker with ASP.NET Core integration without its
    ///    key identity (the worker sees the raw request only), and it opens Admin-level routes to the master key alone,
    ///    so an Admin route that ran in Azure was called with the master key. Only call this from Admin-level routes.
    /// </summary>
    public static string Actor(HttpRequest request, bool appServiceAuthEnabled)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (appServiceAuthEnabled && AppServicePrincipalName(request) is { } principal)
        {
            return principal;
        }

        var keyName = request.HttpContext.User.Identities
            .Where(i => i.IsAuthenticated)
            .Select(i => i.FindFirst(KeyIdClaimType)?.Value)
            .FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
        return keyName ?? MasterKeyName;
    }

    /// <summary>An authenticated key identity with the claims the Functions host's key handler adds.</summary>
    public static ClaimsPrincipal KeyPrincipal(string keyName, string level) => new(new ClaimsIdentity(
        [new Claim(AuthLevelClaimType, level), new Claim(InvokeClaimType, "true"), new Claim(KeyIdClaimType, keyName)],
        KeyAuthenticationType));

    /// <summary>The name claim of the platform's X-MS-CLIENT-PRINCIPAL (base64 JSON: auth_typ, name_typ, claims[{typ,val}]).</summary>
    private static string? AppServicePrincipalName(HttpRequest request)
    {
        var header = request.Headers[ClientPrincipalHeader].ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(header)));
            var root = json.RootElement;
            var nameType = root.TryGetProperty("name_typ", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : ClaimTypes.Name;
            var provider = root.TryGetProperty("auth_typ", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (!root.TryGetProperty("claims", out var claims) || claims.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var name = claims.EnumerateArray()
                .Where(c => c.TryGetProperty("typ", out var t) && t.GetString() == nameType && c.TryGetProperty("val", out _))
                .Select(c => c.GetProperty("val").GetString())
                .FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
            return name is null ? null : string.IsNullOrEmpty(provider) ? name : $"{provider}:{name}";
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}
