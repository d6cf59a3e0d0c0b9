using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace MlopsFunctions.Http;

/// <summary>The dashboard's files (Dashboard/ in this project, embedded in the assembly), so the page ships with the app and needs no CDN or file share.</summary>
public static class DashboardAssets
{
    /// <summary>The page's entry file, served at GET /api/dashboard.</summary>
    public const string Shell = "index.html";

    /// <summary>
    /// Only this origin's own files may run, style or be fetched: no inline script or style (so injected markup cannot
    /// execute), no framing (no clickjacking of the approve and swap buttons), no plugin content.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; " +
        "form-action 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'";

    private const string ResourcePrefix = "Dashboard/";

    private static readonly FrozenDictionary<string, DashboardAsset> Files = Load(typeof(DashboardAssets).Assembly);

    /// <summary>The names a request may ask for: exactly the embedded files, so a name never becomes a path.</summary>
    public static IReadOnlyCollection<string> Names => Files.Keys;

    public static DashboardAsset? Find(string name) => Files.GetValueOrDefault(name);

    private static FrozenDictionary<string, DashboardAsset> Load(Assembly assembly) =>
        assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                var name = n[ResourcePrefix.Length..];
                var content = copy.ToArray();
                return new DashboardAsset(name, content, ContentType(name), $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
            })
            .ToFrozenDictionary(a => a.Name, StringComparer.Ordinal);

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}

/// <summary>One embedded dashboard file with its content type and a content hash for revalidation.</summary>
public sealed record DashboardAsset(string Name, byte[] Content, string ContentType, string ETag);

/// <summary>Writes a dashboard file with the page's security headers; a matching If-None-Match gets 304 without the body.</summary>
public sealed class DashboardAssetResult(DashboardAsset asset) : IActionResult
{
    public DashboardAsset Asset { get; } = asset;

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = DashboardAssets.ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        // Revalidate every time: a new deployment must never pair a cached script with a changed API.
        headers.CacheControl = "no-cache";
        headers.ETag = Asset.ETag;
        if (context.HttpContext.Request.Headers.IfNoneMatch.Contains(Asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = Asset.ContentType;
        response.ContentLength = Asset.Content.Length;
        await response.Body.WriteAsync(Asset.Content, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
