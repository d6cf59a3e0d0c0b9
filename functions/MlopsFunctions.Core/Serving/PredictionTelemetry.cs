using System.Diagnostics;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Telemetry;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// The span tags and measurements of one predict request: model, version, slot, rows, outcome and latency, never the
/// rows' values. Allocation-free when nobody listens (no span, disabled instruments) and cheap when someone does.
/// </summary>
public static class PredictionTelemetry
{
    public const string SpanName = "predict";
    public const string Ok = "ok";
    public const string Error = "error";
    public const string ModelUnavailable = "model-unavailable";

    /// <summary>The tag value of a model name or slot that is not a valid one (the caller's text is never recorded).</summary>
    public const string Invalid = "invalid";

    /// <summary>Whether anything listens to predict spans or measurements; when not, requests take no telemetry path at all.</summary>
    public static bool IsListening =>
        MlopsTelemetry.Source.HasListeners() || MlopsTelemetry.PredictRequests.Enabled || MlopsTelemetry.PredictDuration.Enabled ||
        MlopsTelemetry.PredictRows.Enabled;

    /// <summary>Ends a request: tags its span (when sampled) and records the counters and the latency histogram.</summary>
    /// <param name="outcome">"ok", an <see cref="ApiProblem.Error"/> code, or "error"; a bounded set, never a message.</param>
    public static void Record(Activity? span, long startedTimestamp, string model, string slot, PredictResponse? response, string outcome)
    {
        // Names from the route are the caller's text until checked: an invalid one is recorded as "invalid", never as sent.
        model = ModelName.IsValid(model) ? model : Invalid;
        slot = Slots.IsValid(slot) ? slot : Invalid;
        var version = response?.Version ?? string.Empty; // the response's own string: no formatting per request
        var rows = response?.Predictions.Count ?? 0;
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.Model, model);
            if (version.Length > 0)
            {
                span.SetTag(TelemetryTags.Version, version);
            }

            span.SetTag(TelemetryTags.Slot, slot);
            span.SetTag(TelemetryTags.Rows, rows);
            span.SetTag(TelemetryTags.Outcome, outcome);
            if (outcome != Ok)
            {
                span.SetStatus(ActivityStatusCode.Error);
            }
        }

        var tags = new TagList
        {
            { TelemetryTags.Model, model },
            { TelemetryTags.Version, version },
            { TelemetryTags.Slot, slot },
            { TelemetryTags.Outcome, outcome },
        };
        if (MlopsTelemetry.PredictRequests.Enabled)
        {
            MlopsTelemetry.PredictRequests.Add(1, tags);
        }

        if (rows > 0 && MlopsTelemetry.PredictRows.Enabled)
        {
            MlopsTelemetry.PredictRows.Add(rows, tags);
        }

        if (MlopsTelemetry.PredictDuration.Enabled)
        {
            MlopsTelemetry.PredictDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, tags);
        }
    }
}
