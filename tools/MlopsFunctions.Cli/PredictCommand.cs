using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlopsFunctions.Cli;

/// <summary>
/// Batch predictions from a CSV: rows go to the predict route as JSON objects keyed by the header's column names, in
/// batches, and the answers come back in row order as CSV (the input columns, then the prediction's) or JSON.
/// </summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("rows.csv") { Description = "Rows to score: a CSV whose header names the model's features" };
        var format = new Option<string>("--format") { Description = "Output: csv or json (default csv)", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "json");
        var slot = new Option<string>("--slot") { Description = "production (default) or staging", DefaultValueFactory = _ => "production" };
        var batch = new Option<int>("--batch-size") { Description = "Rows per request (default 1000, at most 10000)", DefaultValueFactory = _ => 1000 };
        var command = new Command("predict", "Score the rows of a CSV with a model's production (or staging) version")
        {
            ModelCommands.ModelArgument, file, format, slot, batch,
        };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelCommands.ModelArgument);
            var size = parse.GetValue(batch);
            if (size is < 1 or > 10_000)
            {
                throw CliError.Input("--batch-size must be between 1 and 10000.");
            }

            var path = parse.GetRequiredValue(file);
            if (!path.Exists)
            {
                throw CliError.Input($"{path.FullName} does not exist.");
            }

            var (header, rows) = CsvFile.Read(path.FullName);
            var route = $"api/models/{Uri.EscapeDataString(name)}/predict?slot={Uri.EscapeDataString(parse.GetValue(slot)!)}";
            var results = new List<JsonObject>(rows.Count);
            for (var start = 0; start < rows.Count; start += size)
            {
                var body = new JsonArray();
                foreach (var row in rows.Skip(start).Take(size))
                {
                    var item = new JsonObject();
                    for (var c = 0; c < header.Count; c++)
                    {
                        // Cells go as text: the server reads numbers from them and keeps categories exactly as written.
                        item[header[c]] = row[c];
                    }

                    body.Add(item);
                }

                var response = await cli.Api.PostAsync(route, body.ToJsonString(), token);
                var version = CliContext.Cell(response, "version");
                foreach (var prediction in response.GetProperty("predictions").EnumerateArray())
                {
                    var entry = (JsonObject)JsonNode.Parse(prediction.GetRawText())!;
                    if (!entry.ContainsKey("version"))
                    {
                        // With a canary each prediction names its version; otherwise the response's version answered.
                        entry.Insert(0, "version", version);
                    }

                    results.Add(entry);
                }
            }

            if (parse.GetValue(format) == "json")
            {
                Console.Out.WriteLine(new JsonArray([.. results]).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                WriteCsv(header, rows, results);
            }

            return 0;
        }, ct));
        return command;
    }

    /// <summary>The input columns, then every prediction field flattened ("scores.setosa"), in first-seen order.</summary>
    private static void WriteCsv(IReadOnlyList<string> header, IReadOnlyList<string[]> rows, List<JsonObject> results)
    {
        var flat = results.Select(r => Flatten(r)).ToList();
        var columns = flat.SelectMany(f => f.Keys).Distinct(StringComparer.Ordinal).Where(k => !header.Contains(k, StringComparer.Ordinal)).ToList();
        var output = new StringBuilder();
        output.AppendLine(string.Join(',', header.Concat(columns).Select(Quote)));
        for (var i = 0; i < rows.Count; i++)
        {
            var values = rows[i].Concat(columns.Select(c => flat[i].TryGetValue(c, out var v) ? v : string.Empty));
            output.AppendLine(string.Join(',', values.Select(Quote)));
        }

        Console.Out.Write(output.ToString());
    }

    private static Dictionary<string, string> Flatten(JsonObject json, string prefix = "", Dictionary<string, string>? into = null)
    {
        into ??= new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in json)
        {
            var name = prefix + key;
            switch (value)
            {
                case JsonObject nested:
                    Flatten(nested, name + ".", into);
                    break;
                case null:
                    into[name] = string.Empty;
                    break;
                case JsonValue scalar when scalar.TryGetValue<string>(out var text):
                    into[name] = text;
                    break;
                case JsonValue scalar when scalar.TryGetValue<double>(out var number):
                    into[name] = number.ToString("R", CultureInfo.InvariantCulture);
                    break;
                default:
                    into[name] = value.ToJsonString();
                    break;
            }
        }

        return into;
    }

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
