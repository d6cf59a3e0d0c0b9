using MlopsFunctions.Core.Pipeline;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// The monitor's decisions as pure functions (no storage, no clock), so the loop's rules are tested on their own:
/// when a live metric has decayed, when an alarm is raised or kept, and which retrain an open alarm starts (one per
/// production version and alarm kind, however many checks see it).
/// </summary>
public static class MonitorRules
{
    public const string DriftKind = "drift";
    public const string DecayKind = "decay";

    /// <summary>
    /// Whether a live metric decayed: a threshold is set, the value is known and computed over at least
    /// <paramref name="minLabelled"/> labelled predictions, and it is under the threshold (over, for a metric where lower is better).
    /// </summary>
    public static bool IsDecayed(double? value, bool higherIsBetter, double? min, int labelled, int minLabelled) =>
        min is { } threshold && value is { } v && double.IsFinite(v) && labelled >= minLabelled && (higherIsBetter ? v < threshold : v > threshold);

    /// <summary>An alarm survives a check only while the version it was raised on is still in production.</summary>
    public static MonitorAlarm? Carry(MonitorAlarm? alarm, int productionVersion) => alarm?.Version == productionVersion ? alarm : null;

    /// <summary>A breach raises an alarm (and its registry event) only when none is open on that version: repeated checks raise nothing more.</summary>
    public static bool Raises(MonitorAlarm? open, int productionVersion) => open?.Version != productionVersion;

    /// <summary>
    /// The retrain the open alarms ask for: the first one (drift before decay) that has not started a run yet, with a run
    /// id fixed by model, version and kind; null when every open alarm already started its run (or none is open).
    /// </summary>
    public static (string Kind, string RunId)? Retrain(string model, int productionVersion, MonitorAlarm? drift, MonitorAlarm? decay)
    {
        if (drift is { RunId: null } && drift.Version == productionVersion)
        {
            return (DriftKind, RunIds.ForDrift(model, productionVersion));
        }

        if (decay is { RunId: null } && decay.Version == productionVersion)
        {
            return (DecayKind, RunIds.ForDecay(model, productionVersion));
        }

        return null;
    }

    /// <summary>After a retrain started: every open alarm without a run is answered by it (a second run on the same window would find nothing new).</summary>
    public static (MonitorAlarm? Drift, MonitorAlarm? Decay) Started(string runId, MonitorAlarm? drift, MonitorAlarm? decay) =>
        (drift is { RunId: null } d ? d with { RunId = runId } : drift, decay is { RunId: null } k ? k with { RunId = runId } : decay);
}
