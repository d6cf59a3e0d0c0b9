using System.Globalization;
using MlopsFunctions.Core.Hosting;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// Validates a large file in a worker child process (see <see cref="WorkerProcess"/>), the blob streamed into its
/// standard input: still one pass, never a copy on disk. Inside a busy host the validator's per-cell code ran 2-4x
/// slower than in a fresh process (the host's tiered JIT left it unoptimized), and a big file's profile work is batch
/// work that serving should not share a priority with.
/// </summary>
public static class ValidatorProcess
{
    public const string Argument = "--mlops-validate";

    /// <summary>Files at least this large are validated in a child process under TrainerIsolation "auto"; smaller ones in the host, where a process start would cost more than it saves.</summary>
    public const long AutoBytes = 8L * 1024 * 1024;

    /// <summary>The validator as a worker mode: the context in the job folder, the file on standard input.</summary>
    public static WorkerMode Mode { get; } = new(Argument, Work, WarmUp);

    /// <summary>Validates <paramref name="content"/> in a child process; the child's failure or death is thrown (the activity is retried).</summary>
    public static async Task<(ValidationReport Report, DataProfile? Profile)> ValidateAsync(
        Stream content, ValidationContext context, WorkerSettings workers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(context);
        var folder = WorkerProcess.NewFolder();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "context.json"), Json.Serialize(context), ct).ConfigureAwait(false);
            var (exitCode, errors) = await WorkerProcess.RunAsync(Argument, folder, workers, content, ct).ConfigureAwait(false);
            var error = Path.Combine(folder, "error.txt");
            var report = Path.Combine(folder, "report.json");
            if (File.Exists(error) || exitCode != 0 || !File.Exists(report))
            {
                var why = File.Exists(error) ? await File.ReadAllTextAsync(error, ct).ConfigureAwait(false) : errors;
                throw new InvalidOperationException(
                    $"The validator process ended with exit code {exitCode.ToString(CultureInfo.InvariantCulture)} before finishing{(why.Length > 0 ? ": " + why : string.Empty)}");
            }

            var profile = await File.ReadAllTextAsync(Path.Combine(folder, "profile.json"), ct).ConfigureAwait(false);
            return (Json.Deserialize<ValidationReport>(await File.ReadAllTextAsync(report, ct).ConfigureAwait(false)),
                profile == "null" ? null : Json.Deserialize<DataProfile>(profile));
        }
        finally
        {
            WorkerProcess.DeleteFolder(folder);
        }
    }

    private static void Work(string folder, Stream input)
    {
        var context = Json.Deserialize<ValidationContext>(File.ReadAllText(Path.Combine(folder, "context.json")));
        var (report, profile) = DatasetValidator.Validate(input, context);
        File.WriteAllText(Path.Combine(folder, "profile.json"), profile is null ? "null" : Json.Serialize(profile));
        File.WriteAllText(Path.Combine(folder, "report.json"), Json.Serialize(report));
    }

    /// <summary>Validates the sample as a model's first data, then again against its own schema and profile (the checks and drift of later data).</summary>
    private static void WarmUp(string folder)
    {
        var csv = WarmUpSample.Csv();
        File.WriteAllText(Path.Combine(folder, "context.json"), Json.Serialize(WarmUpSample.Context()));
        Work(folder, new MemoryStream(csv));
        var report = Json.Deserialize<ValidationReport>(File.ReadAllText(Path.Combine(folder, "report.json")));
        var profile = Json.Deserialize<DataProfile>(File.ReadAllText(Path.Combine(folder, "profile.json")));
        File.WriteAllText(Path.Combine(folder, "context.json"), Json.Serialize(WarmUpSample.Context(report.Schema, profile)));
        Work(folder, new MemoryStream(csv));
    }
}
