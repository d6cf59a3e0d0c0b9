using System.ComponentModel.DataAnnotations;

namespace MlopsFunctions.Core;

/// <summary>Tunables of the pipeline and serving, bound from the "Mlops" configuration section (Mlops__X settings).</summary>
public sealed class MlopsOptions
{
    public const string Section = "Mlops";

    /// <summary>Rows a dataset needs, after dropping rows without a label, to be trained on.</summary>
    [Range(5, int.MaxValue)]
    public int MinRows { get; set; } = 20;

    /// <summary>Share of rows held out for evaluation (stratified by label for classification).</summary>
    [Range(0.05, 0.5)]
    public double HoldoutFraction { get; set; } = 0.2;

    /// <summary>Seed of the split and of every trainer, so a run on the same data gives the same model.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>How long a serving instance trusts its cached slot pointers before reading the registry again.</summary>
    [Range(0, 3600)]
    public double SlotCacheSeconds { get; set; } = 2;

    /// <summary>How long a manual-promotion run waits for approve/reject before it rejects the candidate.</summary>
    [Range(0.001, 24 * 365)]
    public double ApprovalTimeoutHours { get; set; } = 72;

    /// <summary>Longest idle back-off of the durable queue polling (LocalHost; Azure reads host.json).</summary>
    [Range(0.1, 60)]
    public double MaxQueuePollingSeconds { get; set; } = 2;

    /// <summary>Largest predict request body; bigger ones get 413 before they are read.</summary>
    [Range(1024, 256L * 1024 * 1024)]
    public long MaxPredictBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most rows one predict request may carry; more get 413 while the body is read.</summary>
    [Range(1, 1_000_000)]
    public int MaxPredictRows { get; set; } = 10_000;

    /// <summary>How often captured predictions are appended to blobs (also when a buffer reaches 1 MiB).</summary>
    [Range(0.1, 3600)]
    public double CaptureFlushSeconds { get; set; } = 2;

    /// <summary>Captured rows held in memory at most; beyond it rows are dropped and counted, never waited for.</summary>
    [Range(1, 10_000_000)]
    public int CaptureQueueRows { get; set; } = 100_000;
}
