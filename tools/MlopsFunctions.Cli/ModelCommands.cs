using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace MlopsFunctions.Cli;

/// <summary>The registry and operator commands: each is one API call shown as a table or a line (or raw JSON with --json).</summary>
internal static class ModelCommands
{
    public static readonly Argument<string> ModelArgument = new("name") { Description = "Model name (a-z, 0-9, '-', starting with a letter)" };

    public static Command Models()
    {
        var command = new Command("models", "List the models with their production and staging versions");
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var json = await cli.Api.GetAsync("api/models", token);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return 0;
            }

            var table = CliContext.NewTable("model", "task", "production", "staging", "versions");
            foreach (var model in json.GetProperty("models").EnumerateArray())
            {
                CliContext.AddRow(table, CliContext.Cell(model, "name"), CliContext.Cell(model, "task"),
                    CliContext.Cell(model, "production"), CliContext.Cell(model, "staging"), CliContext.Cell(model, "versions"));
            }

            AnsiConsole.Write(table);
            return 0;
        }, ct));
        return command;
    }

    public static Command Model()
    {
        var command = new Command("model", "Show one model: slots and its versions (newest first) with their metric") { ModelArgument };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelArgument);
            var json = await cli.Api.GetAsync($"api/models/{Uri.EscapeDataString(name)}", token);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return 0;
            }

            var slots = json.GetProperty("slots");
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[bold]{0}[/] ({1})  production: {2}  staging: {3}",
                Markup.Escape(name), Markup.Escape(CliContext.Cell(json.GetProperty("spec"), "task")),
                Markup.Escape(Or(CliContext.Cell(slots, "production"), "none")), Markup.Escape(Or(CliContext.Cell(slots, "staging"), "none")));
            var table = CliContext.NewTable("version", "status", "slot", "metric", "value", "created (UTC)");
            foreach (var version in json.GetProperty("versions").EnumerateArray())
            {
                CliContext.AddRow(table, CliContext.Cell(version, "version"), CliContext.Cell(version, "status"), CliContext.Cell(version, "slot"),
                    CliContext.Cell(version, "metric"), CliContext.Cell(version, "value"), Created(CliContext.Cell(version, "createdAt")));
            }

            AnsiConsole.Write(table);
            return 0;
        }, ct));
        return command;
    }

    public static Command Define()
    {
        var spec = new Argument<FileInfo>("spec.json") { Description = "The model spec (JSON), see DESIGN.md section 5" };
        var command = new Command("define", "Create or replace a model's spec (PUT /api/models/{name}; needs the admin key)") { ModelArgument, spec };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelArgument);
            var file = parse.GetRequiredValue(spec);
            var json = await ReadTextAsync(file, token);
            var result = await cli.Api.PutAsync($"api/models/{Uri.EscapeDataString(name)}", json, token);
            if (cli.Json)
            {
                CliContext.PrintJson(result);
                return 0;
            }

            var created = result.TryGetProperty("created", out var c) && c.ValueKind == JsonValueKind.True;
            Console.Out.WriteLine($"{(created ? "Created" : "Updated")} the spec of '{name}'.");
            return 0;
        }, ct));
        return command;
    }

    public static Command Decide(bool approve)
    {
        var version = new Argument<int>("version") { Description = "The version awaiting approval" };
        var reason = new Option<string?>("--reason") { Description = "Why (kept in the version's status)" };
        var command = new Command(approve ? "approve" : "reject",
            approve ? "Approve a version awaiting approval: it is promoted to production (admin key)"
                    : "Reject a version awaiting approval: it leaves staging (admin key)") { ModelArgument, version };
        if (!approve)
        {
            command.Options.Add(reason);
        }

        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelArgument);
            var number = parse.GetValue(version);
            var why = approve ? null : parse.GetValue(reason);
            var path = $"api/models/{Uri.EscapeDataString(name)}/versions/{number.ToString(CultureInfo.InvariantCulture)}/{(approve ? "approve" : "reject")}" +
                       (string.IsNullOrWhiteSpace(why) ? string.Empty : "?reason=" + Uri.EscapeDataString(why));
            var result = await cli.Api.PostAsync(path, null, token);
            if (cli.Json)
            {
                CliContext.PrintJson(result);
                return 0;
            }

            Console.Out.WriteLine($"Version {number} of '{name}' {CliContext.Cell(result, "decision")} (run {CliContext.Cell(result, "runId")}).");
            return 0;
        }, ct));
        return command;
    }

    public static Command SlotChange(string verb, string description)
    {
        var command = new Command(verb, description) { ModelArgument };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelArgument);
            var result = await cli.Api.PostAsync($"api/models/{Uri.EscapeDataString(name)}/{verb}", null, token);
            if (cli.Json)
            {
                CliContext.PrintJson(result);
                return 0;
            }

            Console.Out.WriteLine($"'{name}': production {Or(CliContext.Cell(result, "production"), "none")}, staging {Or(CliContext.Cell(result, "staging"), "none")}.");
            return 0;
        }, ct));
        return command;
    }

    public static Command Runs()
    {
        var command = new Command("runs", "List a model's pipeline runs, newest first") { ModelArgument };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelArgument);
            var json = await cli.Api.GetAsync($"api/models/{Uri.EscapeDataString(name)}/runs", token);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return 0;
            }

            var table = CliContext.NewTable("run", "status", "stage", "source", "outcome", "version", "created (UTC)");
            foreach (var run in json.GetProperty("runs").EnumerateArray())
            {
                var input = run.TryGetProperty("input", out var i) ? i : default;
                var result = run.TryGetProperty("result", out var r) ? r : default;
                CliContext.AddRow(table, CliContext.Cell(run, "instanceId"), CliContext.Cell(run, "runtimeStatus"), CliContext.Cell(run, "stage"),
                    CliContext.Cell(input, "source"), CliContext.Cell(result, "outcome"), CliContext.Cell(result, "version"), Created(CliContext.Cell(run, "createdAt")));
            }

            AnsiConsole.Write(table);
            return 0;
        }, ct));
        return command;
    }

    public static Command Drift()
    {
        var command = new Command("drift", "Show a model's drift reports (GET /api/models/{name}/drift), as JSON") { ModelArgument };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelArgument);
            CliContext.PrintJson(await cli.Api.GetAsync($"api/models/{Uri.EscapeDataString(name)}/drift", token));
            return 0;
        }, ct));
        return command;
    }

    public static async Task<string> ReadTextAsync(FileInfo file, CancellationToken ct)
    {
        try
        {
            return await File.ReadAllTextAsync(file.FullName, ct);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliError.Input($"Cannot read {file.FullName}: {ex.Message}");
        }
    }

    private static string Or(string value, string fallback) => value.Length == 0 ? fallback : value;

    private static string Created(string iso) =>
        DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) // UTC, short enough for an 80-column table
            : iso;
}
