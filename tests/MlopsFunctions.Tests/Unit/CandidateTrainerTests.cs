using System.IO.Compression;
using System.Security.Cryptography;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace MlopsFunctions.Tests.Unit;

/// <summary>Every candidate trainer of each task on the sample data: it trains, scores its validation rows, and does so reproducibly.</summary>
public sealed class CandidateTrainerTests(CandidateTrainerTests.FreshCopies copies, ITestOutputHelper output) : IClassFixture<CandidateTrainerTests.FreshCopies>
{
    private static readonly RowSplit Split = new(HoldoutFraction: 0.2, ValidationFraction: 0.2, Seed: 42);

    private TrainedCandidate Train(string sample, DatasetSchema schema, Candidate candidate, int threads) =>
        CandidateTrainer.Train(new TrainingJob([copies.Of(sample)], schema, candidate, Split, 300, threads, SampleSets.Limits));

    [Theory]
    [InlineData("iris", MlTask.Multiclass, 4, 0.8)]
    [InlineData("breast-cancer", MlTask.Binary, 5, 0.9)]
    [InlineData("diabetes", MlTask.Regression, 6, 0.2)]
    public void Every_candidate_trains_and_scores_its_validation_rows_and_a_second_training_is_identical(string sample, MlTask task, int count, double good)
    {
        var spec = SampleSets.Spec(sample);
        var schema = SampleSets.Schema(sample);
        var primary = MetricCatalog.Primary(spec).Name;
        var rows = File.ReadLines(RepoPaths.SampleData(sample)).Count() - 1;
        var candidates = TrainerCatalog.Candidates(task, spec.Trainers);
        Assert.Equal(task, schema.Task);
        Assert.Equal(count, candidates.Count);
        Assert.Equal(TrainerCatalog.Names(task), candidates.Select(c => c.Trainer).Distinct());

        // Two threads, as on a machine with three cores or more: reproducibility must not depend on running single-threaded.
        // Every candidate is trained once, then all of them again, so the two trainings of one are seconds apart.
        var first = candidates.Select(c => Train(sample, schema, c, threads: 2)).ToList();
        var second = candidates.Select(c => Train(sample, schema, c, threads: 2)).ToList();

        var differences = new List<string>();
        foreach (var (candidate, a, b) in candidates.Zip(first, second))
        {
            output.WriteLine($"{sample} {candidate.Name}: {primary} = {a.ValidationMetrics.GetValueOrDefault(primary):0.0000} " +
                             $"({a.TrainRows} train, {a.ValidationRows} validation rows, {a.FitSeconds:0.00} s)");
            Assert.True(a.TrainRows > rows / 2 && a.ValidationRows > 0 && a.TrainRows + a.ValidationRows < rows,
                $"{candidate.Name}: {a.TrainRows} + {a.ValidationRows} of {rows}");
            Assert.True(double.IsFinite(a.ValidationMetrics[primary]), $"{candidate.Name}: {primary} is {a.ValidationMetrics[primary]}");
            Assert.Equal(MetricCatalog.For(task).Select(m => m.Name).Order(), a.ValidationMetrics.Keys.Order());
            Assert.NotEmpty(a.ModelZip);
            if (task == MlTask.Multiclass)
            {
                Assert.Equal(schema.LabelValues!.Order(), a.Schema.Classes!.Order());
            }

            if (!a.ValidationMetrics.SequenceEqual(b.ValidationMetrics))
            {
                differences.Add($"{candidate.Name}: metrics differ");
            }

            if (a.Sha256 != b.Sha256)
            {
                differences.Add($"{candidate.Name}: model bytes differ");
            }
        }

        Assert.True(differences.Count == 0, string.Join("; ", differences));
        Assert.True(first.Max(c => c.ValidationMetrics[primary]) > good, $"no candidate reaches {primary} {good}");
    }

    [Fact]
    public void A_model_zip_carries_no_time_of_training_so_its_hash_depends_on_the_model_only()
    {
        var trained = Train("iris", SampleSets.Schema("iris"), new Candidate("OneVersusAllFastTree", new Dictionary<string, double> { ["leaves"] = 20 }), 1);

        using var zip = new ZipArchive(new MemoryStream(trained.ModelZip), ZipArchiveMode.Read);
        Assert.NotEmpty(zip.Entries);
        Assert.All(zip.Entries, e => Assert.Equal(CandidateTrainer.EntryTime, e.LastWriteTime.ToUniversalTime()));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(trained.ModelZip)), trained.Sha256);
        Assert.NotNull(new Microsoft.ML.MLContext(1).Model.Load(new MemoryStream(trained.ModelZip), out _));
    }

    [Fact]
    public void A_specs_trainers_restrict_the_candidates_of_its_task()
    {
        var lightGbm = TrainerCatalog.Candidates(MlTask.Binary, ["LightGbm"]);
        var mixed = TrainerCatalog.Candidates(MlTask.Regression, ["FastForest", "Sdca", "SdcaMaximumEntropy"]);

        Assert.Equal(["LightGbm-leaves8", "LightGbm-leaves31"], lightGbm.Select(c => c.Name));
        Assert.Equal(["Sdca", "FastForest-leaves20"], mixed.Select(c => c.Name)); // catalog order; other tasks' names are ignored
        Assert.Equal(TrainerCatalog.Candidates(MlTask.Multiclass, null).Select(c => c.Name), TrainerCatalog.Candidates(MlTask.Multiclass, []).Select(c => c.Name));
    }

    [Fact]
    public void Candidate_names_are_unique_within_each_task()
    {
        foreach (var task in Enum.GetValues<MlTask>())
        {
            var names = TrainerCatalog.Candidates(task, null).Select(c => c.Name).ToList();
            Assert.Equal(names.Count, names.Distinct().Count());
        }
    }

    [Fact]
    public void A_trainer_of_another_task_is_refused()
    {
        var ml = new Microsoft.ML.MLContext(1);

        Assert.Throws<ArgumentException>(() => TrainerCatalog.Trainer(ml, MlTask.Binary, new Candidate("Sdca", new Dictionary<string, double>()), 100, 1, 1));
    }

    /// <summary>
    /// The samples under names never used before: the trainer caches each split's featurized rows by file name, so the
    /// first training of a test run writes that cache and the second reads it, as two runs on one machine would.
    /// </summary>
    public sealed class FreshCopies : IDisposable
    {
        private readonly string folder = Path.Combine(Path.GetTempPath(), "mlops-candidates-" + Guid.NewGuid().ToString("N")[..8]);

        public FreshCopies() => Directory.CreateDirectory(folder);

        public string Of(string sample)
        {
            var path = Path.Combine(folder, $"{sample}-{Path.GetFileName(folder)}.csv");
            if (!File.Exists(path))
            {
                File.Copy(RepoPaths.SampleData(sample), path);
            }

            return path;
        }

        public void Dispose() => Directory.Delete(folder, recursive: true);
    }
}
