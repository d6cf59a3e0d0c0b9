using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Hosting;

/// <summary>How worker children run: their managed heap limit in MiB (0: none) and the modes of the warmed spares to keep.</summary>
public sealed record WorkerSettings(int MemoryMegabytes, IReadOnlyList<string> SpareModes)
{
    /// <summary>
    /// <see cref="MlopsOptions.SpareWorkers"/> spares, in the order a run needs workers: its validator, a trainer, its
    /// evaluator, then a second trainer (two train at once) and more trainers. Three cover a run of one candidate, four
    /// a run of two or more.
    /// </summary>
    public static WorkerSettings From(MlopsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string[] run = [ValidatorProcess.Argument, TrainerProcess.Argument, EvaluatorProcess.Argument];
        return new(options.TrainerMemoryMegabytes,
            [.. Enumerable.Range(0, options.SpareWorkers).Select(i => i < run.Length ? run[i] : TrainerProcess.Argument)]);
    }
}
