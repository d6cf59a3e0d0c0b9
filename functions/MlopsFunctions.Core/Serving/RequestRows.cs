using System.Buffers;
using System.Text;
using System.Text.Json;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Reads a predict body (one JSON object or an array of them, keys = CSV column names) straight into model rows with
/// a forward-only reader: no document tree, key names and category values looked up by span, so a 1,000-row batch
/// costs little more than the model itself. Numbers may be JSON numbers or numeric strings, null means missing
/// (imputed as in training); a category may be absent, null or never seen (its missing or "other" bucket). An absent
/// numeric key is an error naming it, so a typo never passes silently as a missing value. First-release schemas
/// still require every key.
/// </summary>
public static class RequestRows
{
    /// <summary>Reasons listed in a 400 at most; the count of all of them is in the first message.</summary>
    private const int MaxReasons = 20;

    public static (List<ModelRow>? Rows, ApiProblem? Problem) Parse(ReadOnlySpan<byte> body, Featurizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        var rows = new List<ModelRow>();
        var errors = new List<string>();
        var errorCount = 0;
        var seen = new bool[featurizer.Columns.Count];
        var text = ArrayPool<char>.Shared.Rent(256);
        try
        {
            if (!reader.Read() || reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            {
                return (null, InvalidBody(featurizer));
            }

            var many = reader.TokenType == JsonTokenType.StartArray;
            if (!many)
            {
                rows.Add(ReadRow(ref reader, 0, false, featurizer, seen, ref text, errors, ref errorCount));
            }
            else
            {
                var index = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        Add(errors, ref errorCount, $"Row {index} is not a JSON object.");
                        reader.Skip();
                    }
                    else
                    {
                        rows.Add(ReadRow(ref reader, index, true, featurizer, seen, ref text, errors, ref errorCount));
                    }

                    index++;
                }

                if (index == 0)
                {
                    return (null, InvalidBody(featurizer));
                }
            }

            if (reader.Read())
            {
                throw new JsonException("there is more after the end of the JSON value");
            }
        }
        catch (JsonException ex)
        {
            return (null, ApiProblem.BadRequest("invalid-json", $"The body is not valid JSON: {ex.Message}"));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
        }

        if (errorCount > 0)
        {
            var first = errorCount > 1 ? $"{errors[0]} ({errorCount} problems in all)" : errors[0];
            return (null, ApiProblem.BadRequest("invalid-features", first, errors));
        }

        return (rows, null);
    }

    private static ModelRow ReadRow(
        ref Utf8JsonReader reader, int index, bool many, Featurizer featurizer, bool[] seen, ref char[] text, List<string> errors, ref int errorCount)
    {
        var row = featurizer.CreateRow();
        Array.Clear(seen);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var column = featurizer.IndexOf(Text(ref reader, ref text));
            reader.Read();
            if (column < 0)
            {
                reader.Skip(); // a key the model does not read: ignored, as the CSV's extra columns are
                continue;
            }

            seen[column] = true;
            var kind = featurizer.KindOf(column);
            switch (reader.TokenType)
            {
                case JsonTokenType.Null:
                    featurizer.SetMissing(row, column);
                    break;
                case JsonTokenType.Number when reader.TryGetDouble(out var number) && double.IsFinite(number):
                    featurizer.SetNumber(row, column, number);
                    break;
                case JsonTokenType.True or JsonTokenType.False when kind is ColumnKind.Boolean or ColumnKind.Categorical:
                    featurizer.SetCell(row, column, reader.TokenType == JsonTokenType.True ? "true" : "false");
                    break;
                case JsonTokenType.String:
                    var value = Text(ref reader, ref text);
                    if (kind == ColumnKind.Categorical || Accepts(kind, value))
                    {
                        featurizer.SetCell(row, column, value);
                    }
                    else
                    {
                        Add(errors, ref errorCount, $"{Where(index, many)}: feature '{featurizer.Columns[column]}' must be {Describe(kind)}, got \"{Shorten(value)}\".");
                    }

                    break;
                default:
                    Add(errors, ref errorCount, $"{Where(index, many)}: feature '{featurizer.Columns[column]}' must be {Describe(kind)}, got {Describe(ref reader)}.");
                    reader.Skip();
                    break;
            }
        }

        for (var column = 0; column < seen.Length; column++)
        {
            if (!seen[column] && (!featurizer.Typed || featurizer.KindOf(column) != ColumnKind.Categorical))
            {
                Add(errors, ref errorCount, $"{Where(index, many)} lacks feature '{featurizer.Columns[column]}' ({Describe(featurizer.KindOf(column))}; send null when it is missing).");
            }
        }

        return row;
    }

    /// <summary>The current property name or string value, unescaped into a reusable buffer.</summary>
    private static ReadOnlySpan<char> Text(ref Utf8JsonReader reader, ref char[] buffer)
    {
        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > buffer.Length)
        {
            ArrayPool<char>.Shared.Return(buffer);
            buffer = ArrayPool<char>.Shared.Rent((int)length);
        }

        return buffer.AsSpan(0, reader.CopyString(buffer));
    }

    private static bool Accepts(ColumnKind kind, ReadOnlySpan<char> text) => Cells.IsMissing(text) || kind switch
    {
        ColumnKind.Numeric => Cells.TryNumber(text, out _),
        ColumnKind.Boolean => Cells.TryBoolean(text, out _) || Cells.TryNumber(text, out _),
        ColumnKind.Date => Cells.TryDate(text, out _) || Cells.TryDateTime(text, out _),
        ColumnKind.DateTime => Cells.TryDateTime(text, out _) || Cells.TryDate(text, out _),
        _ => true,
    };

    private static void Add(List<string> errors, ref int count, string message)
    {
        count++;
        if (errors.Count < MaxReasons)
        {
            errors.Add(message);
        }
    }

    private static ApiProblem InvalidBody(Featurizer featurizer) => ApiProblem.BadRequest("invalid-body",
        $"Send one JSON object or a non-empty array of them, with keys {string.Join(", ", featurizer.Columns)}.");

    private static string Where(int index, bool many) => many ? $"Row {index}" : "The body";

    private static string Describe(ColumnKind kind) => kind switch
    {
        ColumnKind.Numeric => "a number",
        ColumnKind.Boolean => "true or false",
        ColumnKind.Date => "a date (yyyy-MM-dd)",
        ColumnKind.DateTime => "an ISO 8601 date-time",
        _ => "a category",
    };

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => Encoding.UTF8.GetString(reader.ValueSpan),
    };

    private static string Shorten(ReadOnlySpan<char> text) => text.Length <= 50 ? text.ToString() : string.Concat(text[..47], "...");
}
