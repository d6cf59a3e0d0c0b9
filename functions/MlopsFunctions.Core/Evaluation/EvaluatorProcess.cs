using System.Globalization;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>
/// Evaluates a large window's candidate, and production on the same holdout rows, in a worker child process (see
/// <see cref="WorkerProcess"/>), as its training was. Scoring hundreds of thousands of rows twice and the paired
/// bootstrap are batch work: in the serving host they ran at its priority, held both models' outputs in its memory,
/// and on a just-started host ran in code its tiered JIT had not optimized yet (3-5 s instead of 0.6-1 s on 2M rows).
/// </summary>
public static class EvaluatorProcess
{
    public const string Argument = "--mlops-evaluate";

    private const string CandidateFile = "candidate.zip";
    private const string ChampionFile = "champion.zip";

    /// <summary>The evaluator as a worker mode: the job and both models' zips in the job folder, the result written beside them.</summary>
    public static WorkerMode Mode { get; } = new(Argument, (folder, _) => Work(folder), WarmUp);

    /// <summary>Evaluates in a child process; an evaluation error is rethrown as such, the child's death as an <see cref="InvalidOperationException"/> (the activity is retried).</summary>
    public static async Task<EvaluationResult> EvaluateAsync(EvaluatorJob job, byte[] candidate, byte[]? champion, WorkerSettings workers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(candidate);
        var folder = WorkerProcess.NewFolder();
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, CandidateFile), candidate, ct).ConfigureAwait(false);
            if (champion is not null)
            {
                await File.WriteAllBytesAsync(Path.Combine(folder, ChampionFile), champion, ct).ConfigureAwait(false);
            }

            await File.WriteAllTextAsync(Path.Combine(folder, "job.json"), Json.Serialize(job), ct).ConfigureAwait(false);
            var result = await WorkerProcess.RunForResultAsync(Argument, folder, workers, "result.json", (exitCode, errors) => new InvalidOperationException(
                $"The evaluator process ended with exit code {exitCode.ToString(CultureInfo.InvariantCulture)} before finishing{(errors.Length > 0 ? ": " + errors : string.Empty)}"),
                ct).ConfigureAwait(false);

            return Json.Deserialize<EvaluationResult>(await File.ReadAllTextAsync(result, ct).ConfigureAwait(false));
        }
        finally
        {
            WorkerProcess.DeleteFolder(folder);
        }
    }

    private static void Work(string folder)
    {
        var job = Json.Deserialize<EvaluatorJob>(File.ReadAllText(Path.Combine(folder, "job.json")));
        var candidate = new ScoringModel(ModelStore.Load(File.ReadAllBytes(Path.Combine(folder, CandidateFile))), job.CandidateSchema);
        var championZip = Path.Combine(folder, ChampionFile);
        var champion = job.ChampionSchema is not null && File.Exists(championZip)
            ? new ScoringModel(ModelStore.Load(File.ReadAllBytes(championZip)), job.ChampionSchema)
            : null;
        var result = Evaluator.Evaluate(job.Files, candidate, champion, job.ChampionVersion, job.Spec, job.Split, job.Limits, job.Header);
        File.WriteAllText(Path.Combine(folder, "result.json"), Json.Serialize(result));
    }

    /// <summary>Trains the sample and evaluates it against itself as production: scoring, metrics and the paired bootstrap.</summary>
    private static void WarmUp(string folder)
    {
        var sample = TrainerProcess.SampleJob(folder);
        try
        {
            var trained = CandidateTrainer.Train(sample);
            File.WriteAllBytes(Path.Combine(folder, CandidateFile), trained.ModelZip);
            File.WriteAllBytes(Path.Combine(folder, ChampionFile), trained.ModelZip);
            File.WriteAllText(Path.Combine(folder, "job.json"), Json.Serialize(new EvaluatorJob(
                sample.Files, trained.Schema, trained.Schema, 1, WarmUpSample.Spec, sample.Split, sample.Limits, CsvSource.HeaderOf(sample.Files[^1], sample.Limits))));
            Work(folder);
        }
        finally
        {
            TrainerProcess.DeleteSplitFiles(sample);
        }
    }
}

/// <summary>What an evaluator child reads: the window's local files, both models' schemas (the zips lie beside it), the spec, split and header.</summary>
public sealed record EvaluatorJob(
    IReadOnlyList<string> Files,
    DatasetSchema CandidateSchema,
    DatasetSchema? ChampionSchema,
    int? ChampionVersion,
    ModelSpec Spec,
    RowSplit Split,
    CsvLimits Limits,
    IReadOnlyList<string> Header);
