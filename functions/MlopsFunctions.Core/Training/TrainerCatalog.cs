using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>The candidate trainers of each task, by the names a spec's "trainers" field uses (ML.NET catalog names).</summary>
public static partial class TrainerCatalog
{
    private static readonly Dictionary<MlTask, string[]> TrainerNames = new()
    {
        [MlTask.Regression] = ["Sdca", "LightGbm", "FastTree", "FastForest"],
        [MlTask.Binary] = ["LbfgsLogisticRegression", "LightGbm", "FastTree"],
        [MlTask.Multiclass] = ["SdcaMaximumEntropy", "LightGbm", "OneVersusAllFastTree"],
    };

    public static IReadOnlyList<string> Names(MlTask task) => TrainerNames[task];
}
