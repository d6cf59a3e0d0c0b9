using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlopsFunctions.Core.Registry;

/// <summary>
/// Which accepted data a run trains on: the file that triggered it ("latest"), every accepted dataset ("all"), those
/// accepted in the last N days ({"days": N}) or the newest N rows ({"rows": N}). Written in JSON exactly as users write it.
/// </summary>
[JsonConverter(typeof(TrainingWindowConverter))]
public sealed record TrainingWindow(string Kind, int? Size = null)
{
    public const string LatestKind = "latest";
    public const string AllKind = "all";
    public const string DaysKind = "days";
    public const string RowsKind = "rows";

    public static readonly TrainingWindow Latest = new(LatestKind);
    public static readonly TrainingWindow All = new(AllKind);

    public override string ToString() => Size is { } n ? $"{Kind}:{n.ToString(CultureInfo.InvariantCulture)}" : Kind;
}

/// <summary>Reads and writes "latest" | "all" | {"days": N} | {"rows": N}; anything else is a readable JSON error.</summary>
public sealed class TrainingWindowConverter : JsonConverter<TrainingWindow>
{
    private const string Expected = "trainOn must be \"latest\", \"all\", {\"days\": N} or {\"rows\": N}";

    public override TrainingWindow Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() switch
            {
                TrainingWindow.LatestKind => TrainingWindow.Latest,
                TrainingWindow.AllKind => TrainingWindow.All,
                var other => throw new JsonException($"{Expected}, not \"{other}\"."),
            };
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"{Expected}.");
        }

        TrainingWindow? window = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (window is not null || name is not (TrainingWindow.DaysKind or TrainingWindow.RowsKind) ||
                reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var size) || size < 1)
            {
                throw new JsonException($"{Expected}, with one positive whole number.");
            }

            window = new TrainingWindow(name, size);
        }

        return window ?? throw new JsonException($"{Expected}.");
    }

    public override void Write(Utf8JsonWriter writer, TrainingWindow value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Size is { } size)
        {
            writer.WriteStartObject();
            writer.WriteNumber(value.Kind, size);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteStringValue(value.Kind);
        }
    }
}
