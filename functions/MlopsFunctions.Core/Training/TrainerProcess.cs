using System.Globalization;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Hosting;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// Runs a candidate's training in a child process of the host's own program (the same entry assembly, started with
/// <see cref="Argument"/>), at below-normal priority and with capped threads. Serving keeps its CPU while a large
/// model trains, and an out-of-memory failure or a kill ends the child, not the host: the activity then fails with
/// a clear message and the durable retry policy runs it again.
/// </summary>
/// <remarks>
/// Why a child process rather than only capping threads: ML.NET trainers allocate native memory (LightGbm) and
/// spin their own threads, which neither a thread cap nor the GC can bound; the operating system can, per process,
/// and lowering the priority makes the kernel favour the serving threads whenever both want a core.
/// </remarks>
public static class TrainerProcess
{
    public const string Argument = "--mlops-train";

    /// <summary>The trainer as a worker mode: the job in its folder, the model and result written beside it.</summary>
    public static WorkerMode Mode { get; } = new(Argument, (folder, _) => Work(folder), WarmUp);

    /// <summary>Trains in a child process; a training error is rethrown as such, the child's death as <see cref="TrainerDiedException"/>.</summary>
    public static async Task<TrainedCandidate> TrainAsync(TrainingJob job, WorkerSettings workers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var folder = WorkerProcess.NewFolder();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "job.json"), Json.Serialize(TrainerJob.From(job)), ct).ConfigureAwait(false);
            var result = await WorkerProcess.RunForResultAsync(Argument, folder, workers, "result.json", (exitCode, errors) => new TrainerDiedException(
                $"the trainer process ended with exit code {exitCode.ToString(CultureInfo.InvariantCulture)} before finishing " +
                $"(killed, or out of memory{(workers.MemoryMegabytes > 0 ? $" over Mlops__TrainerMemoryMegabytes={workers.MemoryMegabytes.ToString(CultureInfo.InvariantCulture)}" : string.Empty)}){(errors.Length > 0 ? ": " + errors : string.Empty)}"),
                ct).ConfigureAwait(false);

            var trained = Json.Deserialize<TrainedCandidate>(await File.ReadAllTextAsync(result, ct).ConfigureAwait(false));
            return trained with { ModelZip = await File.ReadAllBytesAsync(Path.Combine(folder, "model.zip"), ct).ConfigureAwait(false) };
        }
        finally
        {
            WorkerProcess.DeleteFolder(folder);
        }
    }

    private static void Work(string folder)
    {
        var job = Json.Deserialize<TrainerJob>(File.ReadAllText(Path.Combine(folder, "job.json")));
        var trained = CandidateTrainer.Train(job.ToTrainingJob());
        File.WriteAllBytes(Path.Combine(folder, "model.zip"), trained.ModelZip);
        File.WriteAllText(Path.Combine(folder, "result.json"), Json.Serialize(trained with { ModelZip = [] }));
    }

    /// <summary>
    /// Trains the sample job: its split files are first written by several threads, the path of a large file, then by
    /// the job itself. They are deleted after, so no sample rows stay beside the datasets.
    /// </summary>
    private static void WarmUp(string folder)
    {
        var job = SampleJob(folder);
        try
        {
            PreparedRows.WriteAll(job.Files, new Featurizer(job.Schema), job.Split, job.Limits,
                [.. Enum.GetValues<Split>().Select(p => (p, Path.Combine(folder, $"ranges.{p}.rows")))], threads: 2, minRangeBytes: 1024);
            File.WriteAllText(Path.Combine(folder, "job.json"), Json.Serialize(TrainerJob.From(job)));
            Work(folder);
        }
        finally
        {
            DeleteSplitFiles(job);
        }
    }

    /// <summary>The warm-up sample in a file of <paramref name="folder"/>, as a LightGbm job (a default of every task); see <see cref="DeleteSplitFiles"/>.</summary>
    internal static TrainingJob SampleJob(string folder)
    {
        var file = Path.Combine(folder, $"warm-up-{Guid.NewGuid():N}.csv");
        File.WriteAllBytes(file, WarmUpSample.Csv());
        return new TrainingJob([file], WarmUpSample.Schema, new Candidate("LightGbm", new Dictionary<string, double>()), new RowSplit(0.2, 0.1, 42),
            WarmUpSample.Rows, Math.Max(1, Environment.ProcessorCount - 1), WarmUpSample.Limits);
    }

    /// <summary>Deletes the split files a sample job wrote beside the dataset copies (its file name is unique, so they are its own).</summary>
    internal static void DeleteSplitFiles(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var featurizer = new Featurizer(job.Schema);
        foreach (var part in Enum.GetValues<Split>())
        {
            File.Delete(PreparedRows.Path(job.Files, featurizer, job.Split, part, job.Limits));
        }
    }

    /// <summary>A training job as the child reads it (a file: the paths, the schema, the candidate and the split).</summary>
    private sealed record TrainerJob(
        IReadOnlyList<string> Files, DatasetSchema Schema, Candidate Candidate, RowSplit Split, long TrainRowsHint, int Threads, CsvLimits Limits)
    {
        public static TrainerJob From(TrainingJob job) => new(job.Files, job.Schema, job.Candidate, job.Split, job.TrainRowsHint, job.Threads, job.Limits);

        public TrainingJob ToTrainingJob() => new(Files, Schema, Candidate, Split, TrainRowsHint, Threads, Limits);
    }
}

/// <summary>The trainer child process ended without a result (killed, or out of memory); the activity is retried.</summary>
public sealed class TrainerDiedException(string message) : Exception(message);
