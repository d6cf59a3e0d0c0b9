using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MlopsFunctions.Tests.Infrastructure;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit.Abstractions;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>
/// The operators' dashboard in a real headless Chromium against its own LocalHost with sample models: the page shows the
/// registry's numbers, shows the server's error messages, and approves a manual-promotion candidate through its confirm
/// dialog; screenshots at 1280 and 390 px wide are kept as test artifacts.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(LocalHostFixture host, ITestOutputHelper output)
{
    private const string Manual = "iris-dash";
    private const string Auto = "diabetes";

    /// <summary>Where the screenshots go: TestResults/dashboard at the repository root (MLOPS_TEST_ARTIFACTS overrides), which scripts/test.sh keeps.</summary>
    public static string ArtifactsDirectory => Environment.GetEnvironmentVariable("MLOPS_TEST_ARTIFACTS") is { Length: > 0 } dir
        ? dir
        : Path.Combine(RepoPaths.Root, "TestResults", "dashboard");

    [Fact]
    public async Task Operators_see_the_registry_numbers_and_approve_a_candidate_in_the_browser()
    {
        // First, so a machine without the browser fails at once with the install command, not after training.
        using var browser = HeadlessChromium.Start();
        var driver = browser.Driver;
        await PrepareModelsAsync();

        // The shell loads without a key and asks for one.
        driver.Navigate().GoToUrl(new Uri(host.Host.BaseAddress, "api/dashboard"));
        Assert.Equal("MlopsFunctions dashboard", driver.Title);
        browser.WaitFor(d => d.FindElement(By.Id("models-empty")).Text.Contains("Enter a key", StringComparison.Ordinal), "the request for a key");

        // A wrong key: the page shows the server's own message.
        EnterKey(driver, "not-a-key-0123456789");
        var refused = browser.WaitFor(d => d.FindElement(By.Id("error")).Displayed ? d.FindElement(By.Id("error-text")).Text : null, "the server's 401 message");
        Assert.Contains("not a valid function key", refused, StringComparison.Ordinal);
        Assert.Contains("HTTP 401", refused, StringComparison.Ordinal);

        // The admin key: every model with its production and staging versions, as the API lists them.
        EnterKey(driver, host.Host.MasterKey);
        var models = (await host.GetJsonAsync("api/models")).GetProperty("models").EnumerateArray().ToList();
        browser.WaitFor(d => d.FindElements(By.CssSelector("#models-table tbody tr[data-model]")).Count == models.Count, "one row per model");
        Assert.False(driver.FindElement(By.Id("error")).Displayed);
        foreach (var model in models)
        {
            var row = driver.FindElement(By.CssSelector($"#models-table tr[data-model='{model.GetProperty("name").GetString()}']"));
            Assert.Equal(VersionLabel(model, "production"), row.FindElement(By.CssSelector("[data-slot=production]")).Text);
            Assert.Equal(VersionLabel(model, "staging"), row.FindElement(By.CssSelector("[data-slot=staging]")).Text);
        }

        // One model: its versions table and metric chart carry the registry's numbers.
        driver.FindElement(By.CssSelector($"#models-table a[href='#/models/{Manual}']")).Click();
        var registry = await host.GetJsonAsync($"api/models/{Manual}");
        var versions = registry.GetProperty("versions").EnumerateArray().ToList();
        browser.WaitFor(d => d.FindElements(By.CssSelector("#versions-table tbody tr[data-version]")).Count == versions.Count, "the versions table");
        AssertVersionsTable(driver, versions);
        AssertMetricChart(driver, versions, registry.GetProperty("spec"));

        // Served-traffic drift is someone else's route: its panel shows when the route answers and hides on 404.
        var (driftStatus, _) = await host.SendAsync(HttpMethod.Get, $"api/models/{Manual}/drift");
        browser.WaitFor(d => d.FindElement(By.Id("served-drift")).Displayed == (driftStatus == 200), $"the served-drift panel {(driftStatus == 200 ? "shown" : "hidden")} (route answered {driftStatus})");

        // Approve v2 with the button, confirm in the page's dialog (prefilled with the admin key), and see production change.
        Assert.Equal(1, registry.GetProperty("slots").GetProperty("production").GetInt32());
        driver.FindElement(By.CssSelector("#approval-callout button[data-action='approve'][data-version='2']")).Click();
        var dialog = browser.WaitFor(d => d.FindElement(By.Id("confirm-dialog")) is { Displayed: true } e ? e : null, "the confirm dialog");
        Assert.NotNull(dialog.GetAttribute("open"));
        Assert.Equal($"Approve {Manual} v2?", driver.FindElement(By.Id("confirm-title")).Text);
        Assert.Equal(host.Host.MasterKey, driver.FindElement(By.Id("confirm-key")).GetAttribute("value"));
        driver.FindElement(By.Id("confirm-ok")).Click();
        browser.WaitFor(d => d.FindElement(By.Id("production-version")).GetAttribute("data-version") == "2", "production v2 after the approval", TimeSpan.FromSeconds(120));
        Assert.False(dialog.Displayed);
        Assert.Equal(2, (await host.GetJsonAsync($"api/models/{Manual}")).GetProperty("slots").GetProperty("production").GetInt32());
        browser.WaitFor(d => d.FindElement(By.CssSelector($"#models-table tr[data-model='{Manual}'] [data-slot=production]")).Text == "v2", "v2 in production in the models table");
        browser.WaitFor(d => d.FindElements(By.CssSelector("#history-table tbody tr")).FirstOrDefault()?.Text.Contains("swap", StringComparison.Ordinal) == true, "the swap in the slot history");
        browser.WaitFor(d => d.FindElements(By.Id("approval-callout")).Single().Displayed ? null : (object)true, "the approval box gone");
        Save(browser, "dashboard-model-1280.png", 1280);
        Save(browser, "dashboard-model-390.png", 390);
        AssertNoHorizontalOverflow(driver, 390);

        // One version: gate decisions with their numbers, candidates, lineage and the per-feature profile.
        driver.Manage().Window.Size = new System.Drawing.Size(1280, 900);
        driver.FindElement(By.CssSelector($"#versions-table a[href='#/models/{Manual}/versions/2']")).Click();
        var detail = await host.GetJsonAsync($"api/models/{Manual}/versions/2");
        browser.WaitFor(d => d.FindElement(By.Id("version-panel")).Displayed && d.FindElement(By.Id("version-title")).Text == $"{Manual} v2", "the version panel");
        var gates = detail.GetProperty("version").GetProperty("gates").EnumerateArray().ToList();
        Assert.Equal(gates.Count, driver.FindElements(By.CssSelector("#gates-table tbody tr[data-gate]")).Count);
        var undecided = driver.FindElement(By.CssSelector("#gates-table tr[data-gate='minImprovement']"));
        Assert.Contains("undecided", undecided.Text, StringComparison.Ordinal);
        Assert.Contains(gates.Single(g => g.GetProperty("gate").GetString() == "minImprovement").GetProperty("reason").GetString()!, undecided.Text, StringComparison.Ordinal);
        var profile = detail.GetProperty("profile").GetProperty("columns").EnumerateArray().ToList();
        Assert.Equal(profile.Select(c => c.GetProperty("name").GetString()), driver.FindElements(By.CssSelector("#profile-table tbody tr[data-column]")).Select(r => r.GetAttribute("data-column")));
        Assert.Equal(profile.Count(c => c.TryGetProperty("histogram", out _)), driver.FindElements(By.CssSelector("#profile-table svg.spark")).Count);
        Assert.Equal(detail.GetProperty("evaluation").GetProperty("candidates").GetArrayLength(), driver.FindElements(By.CssSelector("#candidates-table tbody tr")).Count);
        Assert.Contains(detail.GetProperty("version").GetProperty("lineage").GetProperty("source").GetString()!, driver.FindElement(By.Id("lineage")).Text, StringComparison.Ordinal);
        Save(browser, "dashboard-version-1280.png", 1280);
        Save(browser, "dashboard-version-390.png", 390);
        AssertNoHorizontalOverflow(driver, 390);

        // The page ran under its self-only CSP without a violation or a script error.
        var log = browser.BrowserLog();
        Assert.DoesNotContain(log, l => l.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase) || l.Contains("Uncaught", StringComparison.Ordinal));
    }

    /// <summary>diabetes (auto promotion) in production, and iris-dash (manual) with v1 in production and v2 waiting for a person.</summary>
    private async Task PrepareModelsAsync()
    {
        var iris = LocalHostFixture.ReadSample("iris");
        await host.PutSpecAsync(Auto, await File.ReadAllTextAsync(RepoPaths.Sample($"{Auto}.json")));
        await host.UploadAsync("incoming", $"{Auto}/{Auto}.csv", LocalHostFixture.ReadSample(Auto));
        var spec = JsonNode.Parse(await File.ReadAllTextAsync(RepoPaths.Sample("iris.json")))!.AsObject();
        spec["promotion"] = "manual";
        await host.PutSpecAsync(Manual, spec.ToJsonString());
        await host.UploadAsync("incoming", $"{Manual}/v1.csv", iris);
        await WaitForStatusAsync(1, "awaiting-approval");
        await WaitForWaitingRunAsync();
        Assert.Equal(202, (await host.SendAsync(HttpMethod.Post, $"api/models/{Manual}/versions/1/approve")).Status);
        await host.WaitForProductionAsync(Manual);

        // Without sepal_width, production v1 cannot be scored on v2's rows, so v2 waits for a person whatever its numbers.
        spec["ignore"] = new JsonArray("sepal_width");
        await host.PutSpecAsync(Manual, spec.ToJsonString());
        await host.UploadAsync("incoming", $"{Manual}/v2.csv", DropColumn(iris, 1));
        await WaitForStatusAsync(2, "awaiting-approval");
        await WaitForWaitingRunAsync();
        await host.WaitForProductionAsync(Auto);
    }

    private Task<JsonElement> WaitForStatusAsync(int version, string status) =>
        host.WaitForAsync($"api/models/{Manual}/versions/{version.ToString(CultureInfo.InvariantCulture)}",
            v => v.GetProperty("version").GetProperty("status").GetString() == status, TimeSpan.FromSeconds(180));

    private Task<JsonElement> WaitForWaitingRunAsync() =>
        host.WaitForAsync($"api/models/{Manual}/runs", r => r.GetProperty("runs").EnumerateArray().Any(run =>
            run.TryGetProperty("stage", out var s) && s.GetString() == "awaiting-approval" && run.GetProperty("runtimeStatus").GetString() == "Running"));

    private static void EnterKey(ChromeDriver driver, string key)
    {
        var input = driver.FindElement(By.Id("key-input"));
        input.Clear();
        input.SendKeys(key);
        driver.FindElement(By.Id("key-submit")).Click();
    }

    private static void AssertVersionsTable(ChromeDriver driver, List<JsonElement> versions)
    {
        foreach (var version in versions)
        {
            var number = version.GetProperty("version").GetInt32();
            var row = driver.FindElement(By.CssSelector($"#versions-table tbody tr[data-version='{number}']"));
            Assert.Equal(version.GetProperty("status").GetString(), row.FindElement(By.CssSelector("[data-field=status]")).Text);
            Assert.Equal(version.TryGetProperty("slot", out var slot) ? slot.GetString() : string.Empty, row.FindElement(By.CssSelector("[data-field=slot]")).Text);
            Assert.Equal(version.GetProperty("metric").GetString(), row.FindElement(By.CssSelector("[data-field=metric]")).Text);
            var value = version.GetProperty("value").GetDouble();
            var cell = row.FindElement(By.CssSelector("[data-field=value]"));
            Assert.Equal(value, double.Parse(cell.GetAttribute("data-value")!, CultureInfo.InvariantCulture), 12);
            Assert.Equal(Math.Round(value, 4, MidpointRounding.AwayFromZero).ToString("0.####", CultureInfo.InvariantCulture), cell.Text);
        }
    }

    private static void AssertMetricChart(ChromeDriver driver, List<JsonElement> versions, JsonElement spec)
    {
        var chart = driver.FindElement(By.Id("metric-chart-svg"));
        Assert.Equal(versions[0].GetProperty("metric").GetString(), chart.GetAttribute("data-metric"));
        var points = chart.FindElements(By.CssSelector("circle.point"))
            .Select(p => (Version: int.Parse(p.GetAttribute("data-version")!, CultureInfo.InvariantCulture),
                Value: double.Parse(p.GetAttribute("data-value")!, CultureInfo.InvariantCulture),
                Y: double.Parse(p.GetAttribute("cy")!, CultureInfo.InvariantCulture)))
            .ToList();

        // One point per version, in version order, at the registry's value; a higher value is drawn higher (smaller y).
        var expected = versions.Select(v => (Version: v.GetProperty("version").GetInt32(), Value: v.GetProperty("value").GetDouble())).OrderBy(v => v.Version).ToList();
        Assert.Equal(expected.Select(e => e.Version), points.Select(p => p.Version));
        foreach (var (e, p) in expected.Zip(points))
        {
            Assert.Equal(e.Value, p.Value, 12);
            var label = chart.FindElement(By.CssSelector($"text.point-label[data-version='{e.Version}']")).Text;
            Assert.Equal(Math.Round(e.Value, 3, MidpointRounding.AwayFromZero).ToString("0.###", CultureInfo.InvariantCulture), label);
        }

        foreach (var a in points)
        {
            foreach (var b in points.Where(b => b.Value > a.Value + 1e-9))
            {
                Assert.True(b.Y < a.Y, $"v{b.Version} ({b.Value}) is drawn lower than v{a.Version} ({a.Value})");
            }
        }

        // The spec's minMetric gate is drawn as its own line.
        var gate = spec.GetProperty("gates").GetProperty("minMetric").GetDouble();
        Assert.Contains($"gate {gate.ToString("0.###", CultureInfo.InvariantCulture)}", chart.FindElement(By.CssSelector("text.gate-label")).Text, StringComparison.Ordinal);
    }

    private static void AssertNoHorizontalOverflow(ChromeDriver driver, int width)
    {
        var scrollWidth = Convert.ToInt32(driver.ExecuteScript("return document.documentElement.scrollWidth;"), CultureInfo.InvariantCulture);
        Assert.True(scrollWidth <= width, $"At {width} px the page is {scrollWidth} px wide: something does not fit.");
    }

    private void Save(HeadlessChromium browser, string name, int width)
    {
        var path = browser.SaveFullPageScreenshot(Path.Combine(ArtifactsDirectory, name), width);
        output.WriteLine($"Screenshot at {width} px: {path}");
        Console.WriteLine($"Dashboard screenshot at {width} px: {path}");
    }

    private static string VersionLabel(JsonElement model, string slot) =>
        model.TryGetProperty(slot, out var v) && v.ValueKind == JsonValueKind.Number ? $"v{v.GetInt32()}" : "—";

    private static string DropColumn(string csv, int column) => string.Join('\n', csv.Split('\n')
        .Where(l => l.Length > 0)
        .Select(l => string.Join(',', l.Trim().Split(',').Where((_, i) => i != column))));
}
