using System.Diagnostics;
using MlopsFunctions.Core.Telemetry;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The run's trace ids and the telemetry setting, without storage.</summary>
public sealed class TelemetryUnitTests
{
    [Fact]
    public void The_trace_of_a_run_is_the_same_wherever_and_however_often_its_activities_run()
    {
        var first = RunTrace.ParentOf("iris.data.abc");
        var again = RunTrace.ParentOf("iris.data.abc");
        var other = RunTrace.ParentOf("iris.data.abd");

        Assert.Equal(first, again);
        Assert.NotEqual(first.TraceId, other.TraceId);
        Assert.NotEqual(default, first.TraceId);
        Assert.NotEqual(default, first.SpanId);
        Assert.Equal(ActivityTraceFlags.Recorded, first.TraceFlags);
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("none", 0)]
    [InlineData("Console", 1)]
    [InlineData("otlp", 2)]
    [InlineData("console, otlp", 3)]
    public void The_telemetry_setting_names_the_local_exporters(string? value, int expected) =>
        Assert.Equal((MlopsTelemetry.Exporters)expected, MlopsTelemetry.ParseExporters(value));

    [Fact]
    public void An_unknown_telemetry_setting_stops_the_host_with_what_to_set()
    {
        var error = Assert.Throws<InvalidOperationException>(() => MlopsTelemetry.ParseExporters("zipkin"));
        Assert.Contains("Mlops__Telemetry", error.Message, StringComparison.Ordinal);
    }
}
