using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>What one candidate trains on: local copies of the data, the schema, the split and the trainer.</summary>
public sealed record TrainingJob(
    IReadOnlyList<string> Files,
    DatasetSchema Schema,
    Candidate Candidate,
    RowSplit Split,
    long TrainRowsHint,
    int Threads,
    CsvLimits Limits);

/// <summary>A trained candidate: its bytes and hash, the schema it expects (class order included) and how it did on validation rows.</summary>
public sealed record TrainedCandidate(
    byte[] ModelZip,
    string Sha256,
    DatasetSchema Schema,
    IReadOnlyDictionary<string, double> ValidationMetrics,
    long TrainRows,
    long ValidationRows,
    double FitSeconds)
{
    public DateTimeOffset FitStartedAt { get; init; }
}

/// <summary>
/// Trains one candidate on the training rows (featurized once to a binary file on disk, then streamed through an
/// IDataView for as many passes as the trainer needs) and scores it on the validation rows, which choose between
/// candidates so the holdout stays unbiased.
/// </summary>
public static class CandidateTrainer
{
    public static TrainedCandidate Train(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ml = new MLContext(job.Split.Seed);
        var featurizer = new Featurizer(job.Schema);
        var train = PreparedRows.Open(job.Files, featurizer, job.Split, Split.Train, job.Limits);
        var estimator = FeaturePipeline.Build(ml, featurizer, job.Candidate, job.TrainRowsHint, job.Split.Seed, job.Threads);
        var fitStarted = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var model = estimator.Fit(train);
        var fit = clock.Elapsed.TotalSeconds;

        var schema = job.Schema.Task == MlTask.Multiclass ? job.Schema with { Classes = ClassesOf(model.GetOutputSchema(train.Schema)) } : job.Schema;
        var validation = PreparedRows.Open(job.Files, featurizer, job.Split, Split.Validation, job.Limits);
        // Scoring is a burst of a fraction of a second on every core (four at most): the candidate that finishes last
        // then has the cores the others have left, and two finishing together share them as their fits did.
        var outputs = ModelOutputs.Collect(model, validation, schema, Math.Max(job.Threads, Math.Min(Environment.ProcessorCount, 4)));
        var metrics = outputs.Count > 0 ? MetricCalculator.Compute(outputs) : new Dictionary<string, double>();

        using var stream = new MemoryStream();
        ml.Model.Save(model, train.Schema, stream);
        var bytes = WithoutTimestamps(stream.ToArray());
        return new TrainedCandidate(bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)), schema, metrics, train.GetRowCount() ?? 0, outputs.Count, fit)
        {
            FitStartedAt = fitStarted,
        };
    }

    /// <summary>The time every model zip entry carries, instead of the time it was saved.</summary>
    public static readonly DateTimeOffset EntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// ML.NET stamps each zip entry with the time of saving, so two trainings of the same model on the same data and
    /// seed gave different bytes, and different SHA-256s in the registry, whenever they were saved in different
    /// seconds. The same entries, in the same order, with a fixed time make the bytes a function of the model alone.
    /// </summary>
    internal static byte[] WithoutTimestamps(byte[] zip)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                var copy = target.CreateEntry(entry.FullName, CompressionLevel.Optimal);
                copy.LastWriteTime = EntryTime;
                using var from = entry.Open();
                using var to = copy.Open();
                from.CopyTo(to);
            }
        }

        return output.ToArray();
    }

    private static List<string> ClassesOf(DataViewSchema output)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        output["Label"].GetKeyValues(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToList();
    }
}
