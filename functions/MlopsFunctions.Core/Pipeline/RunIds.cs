using System.Globalization;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Instance ids of pipeline runs. They start with "{model}." ('.' cannot occur in a model name), so a prefix query
/// lists one model's runs; a data run's id is a function of model and content, so the same file twice is one run.
/// </summary>
public static class RunIds
{
    public const string ApprovalEvent = "approval";

    public static string ForData(string model, string sha256) => $"{model}.data.{sha256[..32]}";

    public static string ForSchedule(string model, DateTimeOffset occurrence) =>
        $"{model}.schedule.{occurrence.UtcDateTime.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture)}";

    public static string ForManual(string model, DateTimeOffset at) =>
        $"{model}.retrain.{at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture)}";

    public static string Prefix(string model) => model + ".";
}
