using System.Text;

namespace MlopsFunctions.Cli;

/// <summary>
/// A small RFC 4180 reader for the rows a user predicts on: a header, then records with quoted fields ("" escapes a
/// quote, quoted fields may hold commas and newlines). Errors name the line, as the server's CSV validation does.
/// </summary>
internal static class CsvFile
{
    public static (IReadOnlyList<string> Header, IReadOnlyList<string[]> Rows) Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliError.Input($"Cannot read {path}: {ex.Message}");
        }

        var records = Parse(text, path);
        if (records.Count == 0 || records[0].All(string.IsNullOrWhiteSpace))
        {
            throw CliError.Input($"{path} is empty: it needs a header line with the feature names, then one line per row.");
        }

        var header = records[0].Select(h => h.Trim()).ToArray();
        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw CliError.Input($"{path}: column '{duplicate.Key}' appears twice in the header.");
        }

        var rows = records.Skip(1).Where(r => !(r.Length == 1 && r[0].Length == 0)).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length != header.Length)
            {
                throw CliError.Input($"{path}: row {i + 1} has {rows[i].Length} fields but the header has {header.Length}.");
            }
        }

        if (rows.Count == 0)
        {
            throw CliError.Input($"{path} has a header but no rows to predict.");
        }

        return (header, rows);
    }

    private static List<string[]> Parse(string text, string path)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                fields.Add(field.ToString());
                field.Clear();
                records.Add([.. fields]);
                fields.Clear();
                line++;
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw CliError.Input($"{path}: a quoted field opened before line {line} is never closed.");
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            records.Add([.. fields]);
        }

        return records;
    }
}
