using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace MlopsFunctions.Cli;

/// <summary>What every command needs: the API (URL and key from flags or the environment), the storage connection, and output helpers.</summary>
internal sealed class CliContext : IDisposable
{
    public const string DefaultUrl = "http://127.0.0.1:7071";

    public static readonly Option<string?> UrlOption = new("--url")
    {
        Description = $"Base URL of the app (env MLOPS_URL, default {DefaultUrl})",
        Recursive = true,
    };

    public static readonly Option<string?> KeyOption = new("--key")
    {
        Description = "Function or admin key, sent as x-functions-key (env MLOPS_KEY)",
        Recursive = true,
    };

    public static readonly Option<string?> StorageOption = new("--storage")
    {
        Description = "Storage connection string, for upload (env AzureWebJobsStorage)",
        Recursive = true,
    };

    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print the server's JSON instead of tables",
        Recursive = true,
    };

    private readonly Lazy<MlopsApi> api;

    private CliContext(ParseResult parse)
    {
        var url = parse.GetValue(UrlOption) ?? Environment.GetEnvironmentVariable("MLOPS_URL");
        url = string.IsNullOrWhiteSpace(url) ? DefaultUrl : url.Trim();
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            throw CliError.Input($"'{url}' is not an http(s) URL: pass --url http://host:port or set MLOPS_URL.");
        }

        var key = parse.GetValue(KeyOption) ?? Environment.GetEnvironmentVariable("MLOPS_KEY");
        api = new Lazy<MlopsApi>(() => new MlopsApi(baseAddress, key));
        Storage = parse.GetValue(StorageOption) ?? Environment.GetEnvironmentVariable("AzureWebJobsStorage");
        Json = parse.GetValue(JsonOption);
    }

    public MlopsApi Api => api.Value;

    public string? Storage { get; }

    public bool Json { get; }

    /// <summary>Runs a command body: a CliError becomes its message on stderr and its exit code, Ctrl+C exits 130.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<CliContext, CancellationToken, Task<int>> body, CancellationToken ct)
    {
        try
        {
            using var context = new CliContext(parse);
            return await body(context, ct);
        }
        catch (CliError error)
        {
            await Console.Error.WriteLineAsync($"mlops: {error.Message}");
            return error.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("mlops: cancelled");
            return 130;
        }
    }

    public static void PrintJson(JsonElement json) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(json, IndentedJson));

    /// <summary>A cell for a table: the JSON value as text, empty when absent.</summary>
    public static string Cell(JsonElement json, string property) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(property, out var value) ? Text(value) : string.Empty;

    public static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
        JsonValueKind.Number when value.TryGetInt64(out var n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        JsonValueKind.Number => value.GetDouble().ToString("0.####", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.GetRawText(),
    };

    public static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(column));
        }

        return table;
    }

    public static void AddRow(Table table, params string[] cells) => table.AddRow(cells.Select(c => Markup.Escape(c)).ToArray());

    public void Dispose()
    {
        if (api.IsValueCreated)
        {
            api.Value.Dispose();
        }
    }

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };
}
