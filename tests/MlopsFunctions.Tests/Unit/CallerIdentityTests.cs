using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MlopsFunctions.Http;
using MlopsFunctions.LocalHost;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The audit actor comes from what a host or the platform vouches for; LocalHost's key check sets it like the Functions host.</summary>
public sealed class CallerIdentityTests
{
    private const string Master = "master-key-0123456789abcdef";
    private const string Ops = "ops-key-0123456789abcdef";

    [Fact]
    public void The_actor_is_the_key_name_on_the_authenticated_principal()
    {
        var request = Request();
        request.HttpContext.User = CallerIdentity.KeyPrincipal("ops", "Function");

        Assert.Equal("ops", CallerIdentity.Actor(request, appServiceAuthEnabled: false));
    }

    [Fact]
    public void App_Service_principal_headers_count_only_when_the_platform_says_auth_is_on()
    {
        var request = Request();
        request.Headers["X-MS-CLIENT-PRINCIPAL-NAME"] = "mallory";
        request.Headers[CallerIdentity.ClientPrincipalHeader] = Convert.ToBase64String(Encoding.UTF8.GetBytes(
            """{"auth_typ":"aad","name_typ":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name","claims":[{"typ":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name","val":"alice@contoso.com"}]}"""));

        Assert.Equal("master", CallerIdentity.Actor(request, appServiceAuthEnabled: false));
        Assert.Equal("aad:alice@contoso.com", CallerIdentity.Actor(request, appServiceAuthEnabled: true));
    }

    [Fact]
    public void A_malformed_principal_header_falls_back_to_the_key()
    {
        var request = Request();
        request.Headers[CallerIdentity.ClientPrincipalHeader] = "not base64 {";
        request.HttpContext.User = CallerIdentity.KeyPrincipal("ops", "Function");

        Assert.Equal("ops", CallerIdentity.Actor(request, appServiceAuthEnabled: true));
    }

    [Fact]
    public void An_unauthenticated_identity_with_a_keyid_claim_is_not_trusted()
    {
        var request = Request();
        request.HttpContext.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(CallerIdentity.KeyIdClaimType, "forged")]));

        Assert.Equal("master", CallerIdentity.Actor(request, appServiceAuthEnabled: false));
    }

    [Fact]
    public void The_key_ring_refuses_unsafe_settings_with_every_reason()
    {
        var none = KeyRing.Create(new LocalHostOptions());
        var options = new LocalHostOptions { MasterKey = "short" };
        options.FunctionKeys["master"] = Ops;
        options.FunctionKeys["a"] = Ops;
        var bad = KeyRing.Create(options);

        Assert.Null(none.Ring);
        Assert.Contains("LocalHost__MasterKey is not set", Assert.Single(none.Errors), StringComparison.Ordinal);
        Assert.Null(bad.Ring);
        Assert.Equal(2, bad.Errors.Count);
        Assert.Contains(bad.Errors, e => e.Contains("shorter than 16", StringComparison.Ordinal));
        Assert.Contains(bad.Errors, e => e.Contains("names the admin key", StringComparison.Ordinal));
    }

    [Fact]
    public void The_key_ring_matches_names_and_levels()
    {
        var ring = Ring();

        Assert.Equal(("master", AuthorizationLevel.Admin), ring.Match(Master));
        Assert.Equal(("ops", AuthorizationLevel.Function), ring.Match(Ops));
        Assert.Null(ring.Match(Ops[..^1]));
        Assert.Null(ring.Match(Ops + "x"));
        Assert.Null(ring.Match(""));
        Assert.Null(ring.Match(null));
    }

    [Theory]
    [InlineData(AuthorizationLevel.Function, Ops, 200, "ops")]
    [InlineData(AuthorizationLevel.Function, Master, 200, "master")]
    [InlineData(AuthorizationLevel.Admin, Master, 200, "master")]
    [InlineData(AuthorizationLevel.Admin, Ops, 401, null)]
    [InlineData(AuthorizationLevel.Function, "wrong-key-0123456789abcdef", 401, null)]
    [InlineData(AuthorizationLevel.Function, null, 401, null)]
    [InlineData(AuthorizationLevel.Anonymous, null, 200, "anonymous")]
    public async Task The_middleware_refuses_or_passes_the_key_identity_to_the_function(AuthorizationLevel level, string? key, int status, string? actor)
    {
        var context = Request().HttpContext;
        context.RequestServices = new ServiceCollection().AddLogging().AddMvcCore().Services.BuildServiceProvider();
        context.Response.Body = new MemoryStream();
        context.SetEndpoint(new Endpoint(null, new EndpointMetadataCollection(new FunctionAuthLevel(level)), "test"));
        if (key is not null)
        {
            context.Request.Headers[FunctionKeyAuthorization.KeyHeader] = key;
        }

        context.Request.Headers["X-MS-CLIENT-PRINCIPAL-NAME"] = "mallory";
        string? seen = null;
        await FunctionKeyAuthorization.AuthorizeAsync(context, c =>
        {
            seen = c.User.Identity?.IsAuthenticated == true ? CallerIdentity.Actor(c.Request, appServiceAuthEnabled: true) : "anonymous";
            Assert.False(c.Request.Headers.ContainsKey("X-MS-CLIENT-PRINCIPAL-NAME"));
            return Task.CompletedTask;
        }, Ring(), NullLogger.Instance);

        Assert.Equal(status, context.Response.StatusCode);
        Assert.Equal(actor, seen);
        if (status == 401)
        {
            context.Response.Body.Position = 0;
            Assert.Contains("\"error\":\"unauthorized\"", new StreamReader(context.Response.Body).ReadToEnd(), StringComparison.Ordinal);
        }
    }

    private static KeyRing Ring()
    {
        var options = new LocalHostOptions { MasterKey = Master };
        options.FunctionKeys["ops"] = Ops;
        return KeyRing.Create(options).Ring!;
    }

    private static HttpRequest Request() => new DefaultHttpContext().Request;
}
