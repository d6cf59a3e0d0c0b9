using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Telemetry;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>
/// LocalHost exports the Core instrumentation where Mlops__Telemetry says (here the console, read from its output), and
/// refuses a value it does not know.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TelemetryEndToEndTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task With_console_telemetry_a_predict_request_prints_its_span()
    {
        await using var host = await LocalHostProcess.StartAsync(azurite.ConnectionString, "TelemetryHub",
            settings: new Dictionary<string, string> { ["Mlops__Telemetry"] = "console" });
        using var http = host.CreateClient();
        await LocalHostFixture.WaitHealthyAsync(http, host);

        // A key in the query (as Functions callers may send it) and a value in the body: neither may reach the output.
        using var response = await http.PostAsync("api/models/no-such-model/predict?slot=production&code=Zq7QueryKey", new StringContent("""{"x":1.2345}"""));

        // The console exporter writes a span when it ends; the request's span ends last, after the response may have gone out.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!host.Output.Contains("POST /api/models/{model}/predict", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Matches($@"Activity\.DisplayName:\s+{PredictionTelemetry.SpanName}\b", host.Output);
        Assert.Contains($"{TelemetryTags.Model}: no-such-model", host.Output, StringComparison.Ordinal);
        Assert.Matches(@"Activity\.DisplayName:\s+POST /api/models/\{model\}/predict", host.Output); // its parent, the request
        Assert.DoesNotContain("1.2345", host.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Zq7QueryKey", host.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(host.MasterKey, host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_telemetry_exporter_stops_the_host_with_what_to_set()
    {
        await using var process = LocalHostProcess.Start(azurite.ConnectionString, "TelemetryHub", null, ChildProcess.FreePort(),
            new Dictionary<string, string> { ["Mlops__Telemetry"] = "zipkin" });

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Mlops__Telemetry is 'zipkin'", process.Output, StringComparison.Ordinal);
    }
}
