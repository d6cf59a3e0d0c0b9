using System.Text;

namespace MlopsFunctions.Core.Data;

/// <summary>RFC 4180 CSV reader (quotes, escaped quotes, CRLF or LF) that reports malformed input instead of guessing.</summary>
public static class CsvParser
{
    /// <summary>Parses the whole text. Throws <see cref="CsvFormatException"/> with a line number when the file is not valid CSV.</summary>
    public static CsvTable Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        var records = ReadRecords(text);
        if (records.Count == 0 || records[0].Fields.All(string.IsNullOrWhiteSpace))
        {
            throw new CsvFormatException("The file is empty: expected a header row followed by data rows.");
        }

        var header = records[0].Fields.Select(f => f.Trim()).ToArray();
        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new CsvFormatException($"The header names column '{duplicate.Key}' more than once.");
        }

        if (header.Any(string.IsNullOrEmpty))
        {
            throw new CsvFormatException("The header has an empty column name.");
        }

        var rows = new List<string[]>(records.Count - 1);
        foreach (var record in records.Skip(1))
        {
            if (record.Fields.Count == 1 && record.Fields[0].Length == 0)
            {
                continue; // blank line
            }

            if (record.Fields.Count != header.Length)
            {
                throw new CsvFormatException(
                    $"Line {record.Line} has {record.Fields.Count} fields but the header has {header.Length}.");
            }

            rows.Add([.. record.Fields]);
        }

        return new CsvTable(header, rows);
    }

    private static List<Record> ReadRecords(string text)
    {
        var records = new List<Record>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var inQuotes = false;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i += 2;
                        continue;
                    }

                    inQuotes = false;
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }

                    field.Append(c);
                }

                i++;
                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0:
                    inQuotes = true;
                    break;
                case '"':
                    throw new CsvFormatException($"Line {line} has a quote inside an unquoted field.");
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\r' or '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    records.Add(new Record(recordLine, [.. fields]));
                    fields.Clear();
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    break;
            }

            i++;
        }

        if (inQuotes)
        {
            throw new CsvFormatException($"A quoted field that starts on line {recordLine} is never closed.");
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            records.Add(new Record(recordLine, [.. fields]));
        }

        return records;
    }

    private sealed record Record(int Line, List<string> Fields);
}

/// <summary>The input is not CSV a person could fix without guessing; the message says where.</summary>
public sealed class CsvFormatException(string message) : Exception(message);
