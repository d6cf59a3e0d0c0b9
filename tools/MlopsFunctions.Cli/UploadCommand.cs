using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Spectre.Console;

namespace MlopsFunctions.Cli;

/// <summary>
/// Uploads a CSV to incoming/{name}/{file} (what starts a training run) with a progress bar, then follows the run it
/// started stage by stage until it ends or waits for approval, and exits non-zero when no version came of it.
/// </summary>
internal static partial class UploadCommand
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var file = new Argument<FileInfo>("file.csv") { Description = "Training data: a CSV with a header" };
        var wait = new Option<int>("--timeout") { Description = "Seconds to follow the run before giving up (default 900)", DefaultValueFactory = _ => 900 };
        var noWait = new Option<bool>("--no-wait") { Description = "Only upload; do not follow the run" };
        var command = new Command("upload", "Upload training data to incoming/{name}/ and follow the run it starts")
        {
            ModelCommands.ModelArgument, file, wait, noWait,
        };
        command.SetAction((parse, ct) => CliContext.RunAsync(parse, async (cli, token) =>
        {
            var name = parse.GetRequiredValue(ModelCommands.ModelArgument);
            var path = parse.GetRequiredValue(file);
            if (!ModelName().IsMatch(name))
            {
                throw CliError.Input($"'{name}' is not a valid model name: use 1-63 characters of a-z, 0-9 and '-', starting with a letter.");
            }

            if (!path.Exists)
            {
                throw CliError.Input($"{path.FullName} does not exist.");
            }

            if (string.IsNullOrWhiteSpace(cli.Storage))
            {
                throw CliError.Input("No storage connection string: pass --storage or set AzureWebJobsStorage (scripts/start.sh prints Azurite's).");
            }

            var source = $"incoming/{name}/{path.Name}";
            var before = parse.GetValue(noWait) ? null : await RunIdsAsync(cli.Api, name, token);
            var sha = await UploadAsync(cli.Storage, name, path, token);
            Console.Out.WriteLine($"Uploaded {path.Name} to {source} ({path.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes).");
            if (before is null)
            {
                return 0;
            }

            return await FollowAsync(cli.Api, name, source, before, $"{name}.data.{sha[..32]}", TimeSpan.FromSeconds(parse.GetValue(wait)), token);
        }, ct));
        return command;
    }

    private static async Task<string> UploadAsync(string connection, string name, FileInfo path, CancellationToken ct)
    {
        BlobClient blob;
        try
        {
            var container = new BlobServiceClient(connection).GetBlobContainerClient("incoming");
            await container.CreateIfNotExistsAsync(cancellationToken: ct);
            blob = container.GetBlobClient($"{name}/{path.Name}");
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            throw CliError.Input($"The storage connection string is not valid: {ex.Message}");
        }
        catch (Exception ex) when (ex is RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new CliError($"Cannot reach the storage account: {FirstLine(ex.Message)}", CliError.Unreachable);
        }

        try
        {
            await using var stream = path.OpenRead();
            var total = Math.Max(1, path.Length);
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"upload {Markup.Escape(path.Name)}", maxValue: total);
                    await blob.UploadAsync(stream, new BlobUploadOptions
                    {
                        ProgressHandler = new Progress<long>(sent => task.Value = sent),
                        HttpHeaders = new BlobHttpHeaders { ContentType = "text/csv" },
                    }, ct);
                    task.Value = total;
                });
            stream.Position = 0;
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        }
        catch (RequestFailedException ex)
        {
            throw new CliError($"The upload failed: {FirstLine(ex.Message)}", CliError.Failed);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliError.Input($"Cannot read {path.FullName}: {ex.Message}");
        }
    }

    private static async Task<HashSet<string>> RunIdsAsync(MlopsApi api, string name, CancellationToken ct)
    {
        var runs = await api.GetAsync($"api/models/{Uri.EscapeDataString(name)}/runs", ct);
        return runs.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("instanceId").GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Finds the run: a new one whose input.source is the blob, or, when the same content ran before (a run's id is a
    /// function of model and content, so a second copy starts nothing), that earlier run. Then shows its stage live.
    /// </summary>
    private static async Task<int> FollowAsync(MlopsApi api, string name, string source, HashSet<string> before, string contentRunId, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        var appearSeconds = Math.Min(timeout.TotalSeconds, 120);
        var appearDeadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(appearSeconds);
        JsonElement? run = null;
        string? lastStage = null;
        var interactive = AnsiConsole.Profile.Capabilities.Interactive;

        async Task<JsonElement?> NextAsync()
        {
            var runs = (await api.GetAsync($"api/models/{Uri.EscapeDataString(name)}/runs", ct)).GetProperty("runs").EnumerateArray().ToList();
            if (run is { } known)
            {
                var id = known.GetProperty("instanceId").GetString();
                return runs.FirstOrDefault(r => r.GetProperty("instanceId").GetString() == id);
            }

            return runs.FirstOrDefault(r => !before.Contains(r.GetProperty("instanceId").GetString()!) && Source(r) == source)
                is { ValueKind: JsonValueKind.Object } fresh ? fresh
                : runs.FirstOrDefault(r => r.GetProperty("instanceId").GetString() == contentRunId && (Source(r) != source || before.Contains(contentRunId)))
                    is { ValueKind: JsonValueKind.Object } earlier ? earlier : null;
        }

        async Task<JsonElement> WatchAsync(Action<string> show)
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var now = DateTimeOffset.UtcNow;
                if (run is null && now > appearDeadline)
                {
                    throw new CliError($"No run started for {source} within {appearSeconds:0} s: is the blob trigger running (LocalHost, or the pipeline app in Azure)?", CliError.Failed);
                }

                if (now > deadline)
                {
                    throw new CliError($"The run for {source} did not finish within {timeout.TotalSeconds:0} s: follow it with 'mlops runs {name}'.", CliError.Failed);
                }

                if (await NextAsync() is { } current)
                {
                    run = current;
                    var stage = StageOf(current);
                    if (stage != lastStage)
                    {
                        lastStage = stage;
                        show(stage);
                    }

                    if (IsOver(current))
                    {
                        return current;
                    }
                }

                await Task.Delay(Poll, ct);
            }
        }

        JsonElement final;
        if (interactive)
        {
            final = await AnsiConsole.Status().StartAsync($"waiting for the run of {Markup.Escape(source)}", async status =>
                await WatchAsync(stage => status.Status($"run: {Markup.Escape(stage)}")));
        }
        else
        {
            final = await WatchAsync(stage => Console.Out.WriteLine($"run: {stage}"));
        }

        return await ReportAsync(api, name, final, source, ct);
    }

    private static async Task<int> ReportAsync(MlopsApi api, string name, JsonElement run, string source, CancellationToken ct)
    {
        var id = run.GetProperty("instanceId").GetString();
        var status = CliContext.Cell(run, "runtimeStatus");
        var result = run.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object ? r : default;
        var outcome = CliContext.Cell(result, "outcome");
        var version = CliContext.Cell(result, "version");
        var reason = CliContext.Cell(result, "reason");
        if (Source(run) != source)
        {
            Console.Out.WriteLine($"This content already ran as {id} (from {Source(run)}): the same file twice is one run.");
        }

        if (status == "Running" && CliContext.Cell(run, "stage") == "awaiting-approval")
        {
            // The run list names the stage, not the version: the registry knows which version this run staged.
            var model = await api.GetAsync($"api/models/{Uri.EscapeDataString(name)}", ct);
            var staged = model.GetProperty("versions").EnumerateArray()
                .Where(v => CliContext.Cell(v, "runId") == id).Select(v => CliContext.Cell(v, "version")).FirstOrDefault() ?? "?";
            Console.Out.WriteLine($"Run {id}: version {staged} is in staging and awaits approval: mlops approve {name} {staged}");
            return 0;
        }

        Console.Out.WriteLine($"Run {id}: {status}, outcome {(outcome.Length > 0 ? outcome : "none")}{(version.Length > 0 ? $", version {version}" : string.Empty)}{(reason.Length > 0 ? $": {reason}" : string.Empty)}");
        if (status != "Completed")
        {
            var error = CliContext.Cell(run, "error");
            throw new CliError($"The run {id} ended {status}{(error.Length > 0 ? ": " + error : ".")}", CliError.Failed);
        }

        return outcome is "promoted" ? 0 : outcome.Length == 0 ? 0 : CliError.Failed;
    }

    private static bool IsOver(JsonElement run) =>
        CliContext.Cell(run, "runtimeStatus") is "Completed" or "Failed" or "Terminated" or "Canceled"
        || (CliContext.Cell(run, "runtimeStatus") == "Running" && CliContext.Cell(run, "stage") == "awaiting-approval");

    private static string StageOf(JsonElement run)
    {
        var stage = CliContext.Cell(run, "stage");
        var status = CliContext.Cell(run, "runtimeStatus");
        return stage.Length == 0 ? status.ToLowerInvariant() : stage;
    }

    private static string Source(JsonElement run) =>
        run.TryGetProperty("input", out var input) ? CliContext.Cell(input, "source") : string.Empty;

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex ModelName();
}
