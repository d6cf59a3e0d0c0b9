namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// What the monitor remembers about one model between checks (models/{model}/monitor/state.json, written under a blob
/// lease so two hosts never check a model at once): how far it read the feedback inbox, feedback still waiting for its
/// prediction's capture, joined rows not yet in a dataset, counts, the live metric and the open alarms.
/// </summary>
public sealed class MonitorState
{
    public DateTimeOffset? LastCheck { get; set; }

    /// <summary>The production version the last check looked at.</summary>
    public int? Version { get; set; }

    /// <summary>Bytes read of each feedback inbox file (files of past arrival hours are forgotten once closed).</summary>
    public Dictionary<string, long> Inbox { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Labels whose prediction was not found in the captures yet: retried until the prediction's hour is closed.</summary>
    public List<FeedbackEntry> Waiting { get; set; } = [];

    /// <summary>Joined files with rows not yet in a dataset: the offset from which they are new.</summary>
    public Dictionary<string, long> Unlabelled { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Joined rows not yet in a dataset.</summary>
    public long UnlabelledRows { get; set; }

    /// <summary>UnlabelledRows when a dataset was last attempted, so a rejected attempt is not rebuilt until more rows come.</summary>
    public long? LastAttemptRows { get; set; }

    public FeedbackCounts Counts { get; set; } = new();

    public LiveMetric? Live { get; set; }

    public MonitorAlarm? Drift { get; set; }

    public MonitorAlarm? Decay { get; set; }

    /// <summary>The latest datasets built from labelled feedback (newest last, at most 20).</summary>
    public List<FeedbackDataset> Datasets { get; set; } = [];
}

/// <summary>One label as received: the prediction id, the label as text and when it arrived (the later label for an id wins).</summary>
public sealed record FeedbackEntry(string Id, string Label, DateTimeOffset At);

/// <summary>
/// Feedback totals: lines received, ids joined to their prediction, later labels that changed an id's label,
/// repeats of an id's label (counted once), and ids whose prediction was never found (not captured, or not ours).
/// </summary>
public sealed class FeedbackCounts
{
    public long Received { get; set; }

    public long Joined { get; set; }

    public long Corrected { get; set; }

    public long Repeated { get; set; }

    public long Unknown { get; set; }
}

/// <summary>The production version's metric over its newest labelled predictions, and whether it decayed past the spec's threshold.</summary>
public sealed record LiveMetric(
    int Version,
    string Metric,
    bool HigherIsBetter,
    double? Value,
    int Labelled,
    int Window,
    double? Min,
    int MinLabelled,
    bool Decayed,
    DateTimeOffset At);

/// <summary>An open drift or decay alarm on a production version, and the retrain it started (one per version and alarm).</summary>
public sealed record MonitorAlarm(int Version, DateTimeOffset Since, string Reason)
{
    public string? RunId { get; init; }
}

/// <summary>A CSV built from labelled feedback and what validation said of it.</summary>
public sealed record FeedbackDataset(DateTimeOffset At, string Source, long Rows, bool Accepted, string Report, string? Dataset, string Reason);
