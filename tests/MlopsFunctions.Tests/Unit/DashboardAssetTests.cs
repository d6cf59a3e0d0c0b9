using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using MlopsFunctions.Functions;
using MlopsFunctions.Http;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The dashboard's files come from the assembly, only by their exact names, with a self-only CSP and revalidation.</summary>
public sealed partial class DashboardAssetTests
{
    [Fact]
    public void The_page_script_stylesheet_and_icon_are_embedded_and_the_repo_files_are_what_ships()
    {
        Assert.Equal(["dashboard.css", "dashboard.js", "favicon.svg", "index.html"], DashboardAssets.Names.Order(StringComparer.Ordinal));
        foreach (var name in DashboardAssets.Names)
        {
            var onDisk = File.ReadAllBytes(Path.Combine(Infrastructure.RepoPaths.Root, "functions", "MlopsFunctions", "Dashboard", name));
            Assert.Equal(onDisk, DashboardAssets.Find(name)!.Content);
        }
    }

    [Fact]
    public void Every_file_the_page_links_is_served_and_nothing_comes_from_another_origin()
    {
        var html = Encoding.UTF8.GetString(DashboardAssets.Find(DashboardAssets.Shell)!.Content);
        var links = LinkAttribute().Matches(html).Select(m => m.Groups[1].Value).ToList();

        Assert.NotEmpty(links);
        Assert.All(links, link =>
        {
            Assert.StartsWith("dashboard/", link, StringComparison.Ordinal);
            Assert.NotNull(DashboardAssets.Find(link["dashboard/".Length..]));
        });
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http", Encoding.UTF8.GetString(DashboardAssets.Find("dashboard.js")!.Content).Replace("http://www.w3.org/2000/svg", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dashboard.js", "text/javascript; charset=utf-8")]
    [InlineData("dashboard.css", "text/css; charset=utf-8")]
    public async Task An_asset_is_served_with_its_type_and_the_security_headers(string name, string contentType)
    {
        var context = Context();

        var result = Assert.IsType<DashboardAssetResult>(DashboardFunctions.Asset(context.Request, name));
        await result.ExecuteResultAsync(Action(context));

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(contentType, context.Response.ContentType);
        Assert.Equal(DashboardAssets.ContentSecurityPolicy, context.Response.Headers.ContentSecurityPolicy.ToString());
        Assert.Equal("nosniff", context.Response.Headers.XContentTypeOptions.ToString());
        Assert.Equal(DashboardAssets.Find(name)!.Content, ((MemoryStream)context.Response.Body).ToArray());
    }

    [Fact]
    public void The_policy_allows_only_this_origin()
    {
        var directives = DashboardAssets.ContentSecurityPolicy.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(d => d.Split(' ')[0], d => d.Split(' ')[1..]);

        Assert.All(directives.Values, sources => Assert.All(sources, s => Assert.Contains(s, new[] { "'self'", "'none'" })));
        Assert.Equal(["'self'"], directives["default-src"]);
        Assert.Equal(["'self'"], directives["script-src"]);
        Assert.Equal(["'none'"], directives["frame-ancestors"]);
    }

    [Fact]
    public async Task A_known_etag_gets_304_without_a_body()
    {
        var context = Context();
        context.Request.Headers.IfNoneMatch = DashboardAssets.Find("dashboard.js")!.ETag;

        await DashboardFunctions.Asset(context.Request, "dashboard.js").ExecuteResultAsync(Action(context));

        Assert.Equal(304, context.Response.StatusCode);
        Assert.Equal(0, context.Response.Body.Length);
    }

    [Theory]
    [InlineData("../MlopsFunctions.dll")]
    [InlineData("Dashboard.js")]
    [InlineData("nope.js")]
    public void An_unknown_name_is_a_404_that_lists_the_files(string name)
    {
        var result = Assert.IsType<ContentResult>(DashboardFunctions.Asset(Context().Request, name));

        Assert.Equal(404, result.StatusCode);
        Assert.Contains("asset-not-found", result.Content, StringComparison.Ordinal);
        Assert.Contains("dashboard.js", result.Content, StringComparison.Ordinal);
    }

    [Fact]
    public void The_page_is_the_shell_and_a_trailing_slash_redirects_so_relative_links_resolve()
    {
        var page = Context("/api/dashboard");
        var slash = Context("/api/dashboard/");

        Assert.Equal(DashboardAssets.Shell, Assert.IsType<DashboardAssetResult>(DashboardFunctions.Page(page.Request)).Asset.Name);
        Assert.Equal("/api/dashboard", Assert.IsType<RedirectResult>(DashboardFunctions.Page(slash.Request)).Url);
    }

    private static DefaultHttpContext Context(string path = "/api/dashboard/x")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static ActionContext Action(HttpContext context) => new(context, new RouteData(), new ActionDescriptor());

    [GeneratedRegex(@"(?:href|src)=""([^""#][^""]*)""")]
    private static partial Regex LinkAttribute();
}
