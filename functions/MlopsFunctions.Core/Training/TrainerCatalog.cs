using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// The candidate trainers of each task, by the names a spec's "trainers" field uses (ML.NET catalog names), with a
/// small grid for the tree learners: a shallow and a deeper tree shape. Linear learners get normalized features and
/// one thread (SDCA is only reproducible single-threaded).
/// </summary>
public static class TrainerCatalog
{
    private static readonly Dictionary<MlTask, string[]> TrainerNames = new()
    {
        [MlTask.Regression] = ["Sdca", "LightGbm", "FastTree", "FastForest"],
        [MlTask.Binary] = ["LbfgsLogisticRegression", "LightGbm", "FastTree"],
        [MlTask.Multiclass] = ["SdcaMaximumEntropy", "LightGbm", "OneVersusAllFastTree"],
    };

    /// <summary>Leaves per tree of the grid: few (robust on small data) and the library default.</summary>
    private static readonly int[] LeafGrid = [8, 31];

    public static IReadOnlyList<string> Names(MlTask task) => TrainerNames[task];

    /// <summary>Every candidate of a task, restricted to the spec's trainers when it lists some.</summary>
    public static IReadOnlyList<Candidate> Candidates(MlTask task, IReadOnlyList<string>? trainers)
    {
        var names = trainers is { Count: > 0 } ? Names(task).Where(trainers.Contains).ToList() : Names(task).ToList();
        return names.SelectMany(name => name switch
        {
            "LightGbm" or "FastTree" => LeafGrid.Select(leaves => new Candidate(name, new Dictionary<string, double> { ["leaves"] = leaves })),
            "FastForest" or "OneVersusAllFastTree" => [new Candidate(name, new Dictionary<string, double> { ["leaves"] = 20 })],
            _ => [new Candidate(name, new Dictionary<string, double>())],
        }).ToList();
    }

    public static bool IsLinear(string trainer) => trainer is "Sdca" or "LbfgsLogisticRegression" or "SdcaMaximumEntropy";

    /// <summary>The trainer of a candidate, reading the label column of its task ("Label" keys for multiclass).</summary>
    public static IEstimator<ITransformer> Trainer(MLContext ml, MlTask task, Candidate candidate, long trainRows, int seed, int threads)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(candidate);
        var leaves = (int)candidate.Parameters.GetValueOrDefault("leaves", 20);

        // Small files cannot fill the default 20 rows per leaf; scale it down so trees still split.
        var minLeaf = (int)Math.Clamp(trainRows / 10, 2, 20);
        var label = task switch
        {
            MlTask.Regression => ModelRow.RegressionLabel,
            MlTask.Binary => ModelRow.BinaryLabel,
            _ => "Label",
        };
        return (task, candidate.Trainer) switch
        {
            (MlTask.Regression, "Sdca") => ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options { LabelColumnName = label, NumberOfThreads = 1 }),
            (MlTask.Regression, "LightGbm") => ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
            {
                LabelColumnName = label, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, Seed = seed, NumberOfThreads = threads,
            }),
            (MlTask.Regression, "FastTree") => ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
            {
                LabelColumnName = label, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, Seed = seed, NumberOfThreads = threads,
            }),
            (MlTask.Regression, "FastForest") => ml.Regression.Trainers.FastForest(new FastForestRegressionTrainer.Options
            {
                LabelColumnName = label, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, Seed = seed, NumberOfThreads = threads,
            }),
            (MlTask.Binary, "LbfgsLogisticRegression") => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
            {
                LabelColumnName = label, NumberOfThreads = 1,
            }),
            (MlTask.Binary, "LightGbm") => ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
            {
                LabelColumnName = label, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, Seed = seed, NumberOfThreads = threads,
            }),
            (MlTask.Binary, "FastTree") => ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
            {
                LabelColumnName = label, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, Seed = seed, NumberOfThreads = threads,
            }),
            (MlTask.Multiclass, "SdcaMaximumEntropy") => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
            {
                LabelColumnName = label, NumberOfThreads = 1,
            }),
            (MlTask.Multiclass, "LightGbm") => ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
            {
                LabelColumnName = label, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, Seed = seed, NumberOfThreads = threads,
            }),
            (MlTask.Multiclass, "OneVersusAllFastTree") => ml.MulticlassClassification.Trainers.OneVersusAll(
                ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
                {
                    LabelColumnName = label, NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, Seed = seed, NumberOfThreads = threads,
                }),
                labelColumnName: label),
            _ => throw new ArgumentException($"Trainer '{candidate.Trainer}' is not a {task.ToName()} trainer.", nameof(candidate)),
        };
    }
}

/// <summary>One trainer and its hyperparameters; <see cref="Name"/> identifies it in runs and blob names.</summary>
public sealed record Candidate(string Trainer, IReadOnlyDictionary<string, double> Parameters)
{
    public string Name => Parameters.Count == 0
        ? Trainer
        : $"{Trainer}-{string.Join("-", Parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}{p.Value.ToString(CultureInfo.InvariantCulture)}"))}";
}
