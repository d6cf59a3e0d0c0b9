using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace MlopsFunctions.Core.Telemetry;

/// <summary>
/// One trace per pipeline run, whichever processes run its activities: the trace id and the root span id are a hash of
/// the run id, so an activity span made anywhere, even after a crash and a restart, names the same trace and parent,
/// and the root span recorded when the run ends (with its start and end from the runs table) takes that id.
/// </summary>
/// <remarks>
/// Why not the Durable Task SDK's own spans: SDK 1.28 (source "Microsoft.DurableTask") and the gRPC sidecar do
/// propagate W3C trace context, but only from a client span made when the instance is scheduled, which our blob,
/// timer and retrain triggers do not have; they span an orchestration instance, not a run (a run queued behind
/// another continues as new in the same instance); and they emit an activity span per execution plus a scheduling span
/// per completion. We do not subscribe to that source, so nothing is doubled; an activity span links to the span that
/// was current when it started (the Functions worker's invocation span in Azure), for correlation with the host.
/// </remarks>
public static class RunTrace
{
    private static readonly FieldInfo? SpanIdField = typeof(Activity).GetField("_spanId", BindingFlags.NonPublic | BindingFlags.Instance);
    private static readonly FieldInfo? IdField = typeof(Activity).GetField("_id", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>The run's trace id and root span id: the first 16 and next 8 bytes of SHA-256("mlops-run\n" + run id).</summary>
    public static (ActivityTraceId TraceId, ActivitySpanId RootSpanId) IdsOf(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("mlops-run\n" + runId), hash);
        hash[0] |= 1; // an all-zero id is invalid in W3C trace context; with this bit neither can be
        hash[16] |= 1;
        return (ActivityTraceId.CreateFromBytes(hash[..16]), ActivitySpanId.CreateFromBytes(hash[16..24]));
    }

    /// <summary>The parent of every span of the run: its root, marked sampled so a parent-based sampler keeps the run whole.</summary>
    public static ActivityContext ParentOf(string runId)
    {
        var (traceId, rootSpanId) = IdsOf(runId);
        return new ActivityContext(traceId, rootSpanId, ActivityTraceFlags.Recorded, isRemote: true);
    }

    /// <summary>
    /// Records the run's root span, from <paramref name="start"/> to <paramref name="end"/>, with the id its children
    /// already name. Returns it, stopped and exported, or null when nobody listens.
    /// </summary>
    public static Activity? RecordRoot(
        string runId, string name, DateTimeOffset start, DateTimeOffset end, IEnumerable<KeyValuePair<string, object?>> tags, bool failed)
    {
        var (traceId, rootSpanId) = IdsOf(runId);
        // A context with the trace id and no span id: the span becomes a root of that trace, not of a new one.
        var root = MlopsTelemetry.Source.CreateActivity(name, ActivityKind.Internal,
            new ActivityContext(traceId, default, ActivityTraceFlags.Recorded), tags);
        if (root is null)
        {
            return null;
        }

        root.SetStartTime(start.UtcDateTime);
        root.Start();
        // System.Diagnostics has no API to choose a span id; the Durable Task SDK sets its orchestration spans' ids the
        // same way. Should the field ever go, the root keeps a random id: children stay in the trace, under no parent.
        if (SpanIdField is not null && IdField is not null)
        {
            SpanIdField.SetValue(root, rootSpanId.ToHexString());
            IdField.SetValue(root, $"00-{traceId.ToHexString()}-{rootSpanId.ToHexString()}-01");
        }

        if (failed)
        {
            root.SetStatus(ActivityStatusCode.Error);
        }

        root.SetEndTime(end.UtcDateTime);
        root.Stop();
        return root;
    }
}
