using System.Globalization;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Ids of pipeline runs. They start with "{model}." ('.' cannot occur in a model name), so the model is known from
/// the id. A data run's id is a function of model, content and spec: the same file twice under the same spec is one
/// run, and a changed spec makes a new one. An explicit re-run of a failed or rejected run gets an attempt suffix.
/// </summary>
public static class RunIds
{
    public const string ApprovalEvent = "approval";

    public static string ForData(string model, string sha256, string specSha256) => $"{model}.data.{sha256[..16]}-{specSha256[..8]}";

    public static string ForSchedule(string model, DateTimeOffset occurrence) =>
        $"{model}.schedule.{occurrence.UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}";

    public static string ForManual(string model, DateTimeOffset at) =>
        $"{model}.retrain.{at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture)}";

    /// <summary>The monitor's retrain of a production version whose served inputs drifted: one per version, however many checks see it.</summary>
    public static string ForDrift(string model, int version) => $"{model}.drift.v{version.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The monitor's retrain of a production version whose live metric decayed: one per version.</summary>
    public static string ForDecay(string model, int version) => $"{model}.decay.v{version.ToString(CultureInfo.InvariantCulture)}";

    public static string ForReplay(string model, int version, DateTimeOffset at) =>
        $"{model}.replay.v{version.ToString(CultureInfo.InvariantCulture)}.{at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture)}";

    public static string Attempt(string runId, int attempt) => $"{runId}.r{attempt.ToString(CultureInfo.InvariantCulture)}";

    public static string Prefix(string model) => model + ".";

    /// <summary>The model a run id belongs to, or null when the id is not one of ours.</summary>
    public static string? ModelOf(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        var dot = runId.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && ModelName.IsValid(runId[..dot]) ? runId[..dot] : null;
    }
}
