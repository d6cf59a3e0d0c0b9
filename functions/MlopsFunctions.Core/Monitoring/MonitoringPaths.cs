using System.Globalization;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// Where the monitoring loop keeps its data, all keyed by UTC hour so each step reads only the hours it needs:
/// feedback as received (by arrival hour), feedback joined to its captured prediction (by the prediction's hour, which
/// its id encodes), the CSVs built from labelled rows, per-hour drift reports and the monitor's state per model.
/// </summary>
public static class MonitoringPaths
{
    public const string HourFormat = "yyyy-MM-dd-HH";

    public static string Hour(DateTimeOffset time) => time.UtcDateTime.ToString(HourFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset FloorHour(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);

    public static DateTimeOffset? ParseHour(string text) =>
        DateTime.TryParseExact(text, HourFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var hour)
            ? new DateTimeOffset(hour, TimeSpan.Zero)
            : null;

    /// <summary>feedback/{model}/received/{arrival hour}/{instance}[-part].jsonl: what the feedback API appended, line per id.</summary>
    public static BlobPath Received(string model, DateTimeOffset arrival, string instance, int part) =>
        new(BlobPath.Feedback, $"{ReceivedPrefix(model)}{Hour(arrival)}/{instance}{(part == 0 ? string.Empty : "-" + part.ToString(CultureInfo.InvariantCulture))}.jsonl");

    public static string ReceivedPrefix(string model) => $"{model}/received/";

    /// <summary>feedback/{model}/joined/{prediction hour}.jsonl: each label with the captured inputs and output it belongs to.</summary>
    public static BlobPath Joined(string model, DateTimeOffset predictionHour) => new(BlobPath.Feedback, $"{JoinedPrefix(model)}{Hour(predictionHour)}.jsonl");

    public static string JoinedPrefix(string model) => $"{model}/joined/";

    /// <summary>feedback/{model}/labelled/{time}.csv: labelled rows as a CSV of the model's columns, validated like any file.</summary>
    public static BlobPath Labelled(string model, DateTimeOffset at) =>
        new(BlobPath.Feedback, $"{model}/labelled/{at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture)}.csv");

    /// <summary>captured/{model}/{version}/{hour}/: one hour of a version's captured predictions (a file per serving instance).</summary>
    public static string CapturedPrefix(string model, int version, DateTimeOffset hour) =>
        $"{model}/{version.ToString(CultureInfo.InvariantCulture)}/{Hour(hour)}/";

    /// <summary>models/{model}/monitor/state.json: how far the monitor read, what waits, alarms and the live metric.</summary>
    public static BlobPath State(string model) => new(BlobPath.Models, $"{model}/monitor/state.json");

    /// <summary>models/{model}/drift/{hour}.v{version}.json: PSI per feature of one hour of inputs served by one production version.</summary>
    public static BlobPath DriftReport(string model, DateTimeOffset hour, int version) =>
        new(BlobPath.Models, $"{DriftPrefix(model)}{Hour(hour)}.v{version.ToString(CultureInfo.InvariantCulture)}.json");

    public static string DriftPrefix(string model) => $"{model}/drift/";
}
