using System.Globalization;
using System.Text.RegularExpressions;

namespace MlopsFunctions.Core.Registry;

/// <summary>Answers "which version was in production at T" from a model's event history alone.</summary>
public static partial class SlotHistory
{
    /// <summary>The last slot-moving event at or before <paramref name="at"/> (its ProductionAfter is the answer), or null when none was yet.</summary>
    public static RegistryEvent? ProductionAt(IEnumerable<RegistryEvent> events, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(events);
        return events.Where(e => EventKinds.MovesSlots(e.Kind) && e.At <= at).MaxBy(e => e.At);
    }

    /// <summary>
    /// Reads an ISO 8601 instant: a date, or a date and time with seconds and fraction optional, in UTC without an
    /// offset. A '+' that a query string turned into a space is read back as '+'.
    /// </summary>
    public static DateTimeOffset? ParseInstant(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var value = OffsetWithSpace().Replace(text.Trim(), "+$1");
        return Iso8601().IsMatch(value) && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : null;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?)?$")]
    private static partial Regex Iso8601();

    [GeneratedRegex(@" (\d{2}:\d{2})$")]
    private static partial Regex OffsetWithSpace();
}
