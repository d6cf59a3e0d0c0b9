using System.Text;
using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>
/// LocalHost enforces every HTTP function's auth level from functions.metadata the way the Functions host does, and the
/// audit actor of operator calls is the key's name, never a header the caller sets.
/// </summary>
[Collection(LocalHostCollection.Name)]
public sealed class KeyAuthorizationTests(LocalHostFixture host)
{
    /// <summary>Every HTTP route of the app's functions.metadata: method, concrete path, auth level.</summary>
    public static TheoryData<string, string, string> Routes()
    {
        var data = new TheoryData<string, string, string>();
        var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata"))).RootElement;
        foreach (var trigger in metadata.EnumerateArray().SelectMany(f => f.GetProperty("bindings").EnumerateArray())
                     .Where(b => b.GetProperty("type").GetString() == "httpTrigger"))
        {
            var path = "api/" + trigger.GetProperty("route").GetString()!
                .Replace("{model}", "keys-none", StringComparison.Ordinal)
                .Replace("{version}", "1", StringComparison.Ordinal)
                .Replace("{instanceId}", "keys-none.data.x", StringComparison.Ordinal)
                .Replace("{asset}", "dashboard.js", StringComparison.Ordinal);
            foreach (var method in trigger.GetProperty("methods").EnumerateArray())
            {
                data.Add(method.GetString()!.ToUpperInvariant(), path, trigger.GetProperty("authLevel").GetString()!);
            }
        }

        return data;
    }

    [Fact]
    public void The_metadata_has_routes_of_every_level()
    {
        var levels = Routes().Select(r => (string)r[2]).Distinct().Order();

        Assert.Equal(["Admin", "Anonymous", "Function"], levels);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Each_route_takes_exactly_the_keys_of_its_level(string method, string path, string level)
    {
        var none = await SendAsync(method, path, key: null);
        var wrong = await SendAsync(method, path, LocalHostProcess.NewKey());
        var function = await SendAsync(method, path, host.Host.FunctionKey);
        var master = await SendAsync(method, path, host.Host.MasterKey);

        Assert.NotEqual(401, master.Status);
        switch (level)
        {
            case "Anonymous":
                Assert.Equal((200, 200, 200), (none.Status, wrong.Status, function.Status));
                break;
            case "Function":
                AssertUnauthorized(none, "function key or the admin key");
                AssertUnauthorized(wrong, "not a valid function key");
                Assert.NotEqual(401, function.Status);
                break;
            default:
                AssertUnauthorized(none, "admin (master) key");
                AssertUnauthorized(wrong, "not the admin (master) key");
                AssertUnauthorized(function, $"function key '{LocalHostProcess.FunctionKeyName}'");
                break;
        }
    }

    [Fact]
    public async Task The_key_may_come_from_code_but_the_header_wins_as_in_the_Functions_host()
    {
        var master = Uri.EscapeDataString(host.Host.MasterKey);

        var byQuery = await SendAsync("POST", $"api/models/keys-none/swap?code={master}", key: null);
        var wrongQuery = await SendAsync("POST", $"api/models/keys-none/swap?code={Uri.EscapeDataString(host.Host.FunctionKey)}", key: null);
        var headerWins = await SendAsync("POST", $"api/models/keys-none/swap?code={master}", LocalHostProcess.NewKey());

        Assert.Equal((404, 401, 401), (byQuery.Status, wrongQuery.Status, headerWins.Status));
    }

    [Fact]
    public async Task Health_needs_no_key_and_shows_no_exception_text()
    {
        var (status, body) = await SendAsync("GET", "api/health", key: null);

        Assert.Equal(200, status);
        Assert.Equal("healthy", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
        Assert.DoesNotContain("Exception", body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Approve_and_reject_record_the_key_name_not_a_header_the_caller_sets()
    {
        const string model = "iris-keys";
        var iris = LocalHostFixture.ReadSample("iris");
        await host.PutSpecAsync(model, """{"task":"multiclass","label":"species","promotion":"manual"}""");
        await host.UploadAsync("incoming", $"{model}/v1.csv", iris);
        await WaitForStatusAsync(model, 1, "awaiting-approval");
        await WaitForDecisionStageAsync(model);

        // A caller claiming to be someone else through App Service's headers: nothing in front of LocalHost set them.
        var spoofed = new Dictionary<string, string>
        {
            ["X-MS-CLIENT-PRINCIPAL-NAME"] = "mallory",
            ["X-MS-CLIENT-PRINCIPAL"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(
                """{"auth_typ":"aad","name_typ":"name","claims":[{"typ":"name","val":"mallory"}]}""")),
        };
        Assert.Equal(202, (await SendAsync("POST", $"api/models/{model}/versions/1/approve", host.Host.MasterKey, spoofed)).Status);
        await host.WaitForProductionAsync(model);

        // Without sepal_width (now ignored by the spec) the champion cannot be scored on v2's rows, so v2 waits for a decision too.
        await host.PutSpecAsync(model, """{"task":"multiclass","label":"species","promotion":"manual","ignore":["sepal_width"]}""");
        var v2 = string.Join('\n', iris.Split('\n').Where(l => l.Length > 0).Select(l => string.Join(',', l.Trim().Split(',').Where((_, i) => i != 1))));
        await host.UploadAsync("incoming", $"{model}/v2.csv", v2);
        await WaitForStatusAsync(model, 2, "awaiting-approval");
        await WaitForDecisionStageAsync(model);
        Assert.Equal(202, (await SendAsync("POST", $"api/models/{model}/versions/2/reject?reason=test", host.Host.MasterKey, spoofed)).Status);
        await WaitForStatusAsync(model, 2, "declined");

        var history = (await host.GetJsonAsync($"api/models/{model}")).GetProperty("history").EnumerateArray()
            .Select(e => (Kind: e.GetProperty("kind").GetString(), Actor: e.GetProperty("actor").GetString())).ToList();
        // The approval's promotion (swap) and the rejection's unstage name the admin key; the pipeline stages itself.
        Assert.Equal(("swap", "master"), history.Single(e => e.Kind == "swap"));
        Assert.Equal(("unstage", "master"), history.Single(e => e.Kind == "unstage"));
        Assert.DoesNotContain(history, e => e.Actor!.Contains("mallory", StringComparison.Ordinal));
    }

    /// <summary>The version turns awaiting-approval a moment before its run waits for the decision; approving in between is a 409.</summary>
    private Task<JsonElement> WaitForDecisionStageAsync(string model) =>
        host.WaitForAsync($"api/models/{model}/runs", r => r.GetProperty("runs").EnumerateArray().Any(run =>
            run.TryGetProperty("stage", out var s) && s.GetString() == "awaiting-approval" && run.GetProperty("runtimeStatus").GetString() == "Running"));

    private Task<JsonElement> WaitForStatusAsync(string model, int version, string status) =>
        host.WaitForAsync($"api/models/{model}/versions/{version}", v => v.GetProperty("version").GetProperty("status").GetString() == status);

    private static void AssertUnauthorized((int Status, string Body) response, string expected)
    {
        Assert.Equal(401, response.Status);
        var json = JsonDocument.Parse(response.Body).RootElement;
        Assert.Equal("unauthorized", json.GetProperty("error").GetString());
        var message = json.GetProperty("message").GetString()!;
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains("x-functions-key", message, StringComparison.Ordinal);
    }

    private async Task<(int Status, string Body)> SendAsync(string method, string path, string? key, IDictionary<string, string>? headers = null)
    {
        using var http = new HttpClient { BaseAddress = host.Host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (key is not null)
        {
            request.Headers.Add("x-functions-key", key);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Add(name, value);
        }

        if (method is "PUT" or "POST")
        {
            request.Content = new StringContent("{}");
        }

        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
