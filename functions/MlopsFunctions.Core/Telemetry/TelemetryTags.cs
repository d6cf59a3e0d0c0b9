namespace MlopsFunctions.Core.Telemetry;

/// <summary>Attribute names of spans and metrics, one place, so dashboards and queries can rely on them.</summary>
public static class TelemetryTags
{
    public const string Model = "mlops.model";
    public const string Version = "mlops.model.version";
    public const string Slot = "mlops.slot";
    public const string Rows = "mlops.rows";
    public const string RunId = "mlops.run.id";
    public const string Trigger = "mlops.run.trigger";
    public const string Instance = "mlops.run.instance";
    public const string Stage = "mlops.stage";
    public const string Activity = "mlops.activity";
    public const string Candidate = "mlops.candidate";
    public const string Candidates = "mlops.candidates";
    public const string Metric = "mlops.metric";
    public const string MetricValue = "mlops.metric.value";
    public const string Outcome = "mlops.outcome";

    /// <summary>OpenTelemetry's semantic convention for a failure's class (the exception's type, never its message).</summary>
    public const string ErrorType = "error.type";
}
