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

    /// <summary>Share of rows that choose between candidates (never the holdout, which stays unbiased for the gates).</summary>
    [Range(0.05, 0.4)]
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Threads a trainer may use; by default all cores but one, which stays with serving.</summary>
    [Range(0, 1024)]
    public int TrainerThreads { get; set; }

    /// <summary>The trainer's thread count: the setting, or all cores but one (at least one).</summary>
    public int EffectiveTrainerThreads() => TrainerThreads > 0 ? TrainerThreads : Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>
    /// Where candidates train and files are validated: "process" (a low-priority child process), "inprocess", or "auto"
    /// (default): a child process once a window holds more than <see cref="TrainerProcessRows"/> rows (or a file is at
    /// least <see cref="Data.ValidatorProcess.AutoBytes"/>), where the work's memory and CPU could hurt the predictions
    /// this host serves; in process below, where starting a process would cost more than it saves.
    /// </summary>
    [RegularExpression("^(auto|process|inprocess)$")]
    public string TrainerIsolation { get; set; } = "auto";

    /// <summary>Whether work goes to a child process under <see cref="TrainerIsolation"/>, given whether it is large enough for "auto".</summary>
    public bool Isolates(bool large) => TrainerIsolation == "process" || (TrainerIsolation == "auto" && large);

    /// <summary>Rows above which "auto" isolation trains in a child process.</summary>
    [Range(0, long.MaxValue)]
    public long TrainerProcessRows { get; set; } = 50_000;

    /// <summary>Managed heap limit of a trainer or validator child process, in MiB (0: none); over it the child fails, not the host.</summary>
    [Range(0, 1024 * 1024)]
    public int TrainerMemoryMegabytes { get; set; }

    /// <summary>
    /// Worker children kept started and warmed (their code compiled on sample data) for the next isolated validation or
    /// training, once this host has needed one; each does one job and exits. The default covers a run's validator, its
    /// two trainers at once and its evaluator. 0 starts every worker when its job comes.
    /// </summary>
    [Range(0, 8)]
    public int SpareWorkers { get; set; } = 4;

    /// <summary>Seed of the split and of every trainer, so a run on the same data gives the same model.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>How long a serving instance trusts its cached slot pointers before reading the registry again.</summary>
    [Range(0, 3600)]
    public double SlotCacheSeconds { get; set; } = 2;

    /// <summary>How long a manual-promotion run waits for approve/reject before it rejects the candidate.</summary>
    [Range(0.001, 24 * 365)]
    public double ApprovalTimeoutHours { get; set; } = 72;

    /// <summary>Largest CSV accepted, in MiB.</summary>
    [Range(1, 1024 * 1024)]
    public int MaxFileMegabytes { get; set; } = 2048;

    /// <summary>Most columns a CSV header may have.</summary>
    [Range(2, 100_000)]
    public int MaxColumns { get; set; } = 1000;

    /// <summary>Longest CSV line (a record, quoted newlines included), in KiB.</summary>
    [Range(1, 1024 * 1024)]
    public int MaxLineKilobytes { get; set; } = 1024;

    /// <summary>Most distinct values of a categorical column (and classes of a label); a spec's validation.maxCategories overrides it.</summary>
    [Range(2, 1_000_000)]
    public int MaxCategories { get; set; } = 1000;

    /// <summary>Longest idle back-off of the durable queue polling (LocalHost; Azure reads host.json).</summary>
    [Range(0.1, 60)]
    public double MaxQueuePollingSeconds { get; set; } = 2;

    /// <summary>Which functions this host runs: all, serving or pipeline (see Hosting.HostRole, which reads it at start).</summary>
    [RegularExpression("(?i)all|serving|pipeline", ErrorMessage = "Mlops__Role must be all, serving or pipeline.")]
    public string Role { get; set; } = "all";

    /// <summary>Largest predict request body; bigger ones get 413 before they are read.</summary>
    [Range(1024, 256L * 1024 * 1024)]
    public long MaxPredictBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most rows one predict request may carry; more get 413 while the body is read.</summary>
    [Range(1, 1_000_000)]
    public int MaxPredictRows { get; set; } = 10_000;

    /// <summary>How often captured predictions are appended to blobs (also when a buffer reaches 3 MiB).</summary>
    [Range(0.1, 3600)]
    public double CaptureFlushSeconds { get; set; } = 2;

    /// <summary>Captured rows held in memory at most; beyond it rows are dropped and counted, never waited for.</summary>
    [Range(1, 10_000_000)]
    public int CaptureQueueRows { get; set; } = 100_000;

    /// <summary>How often the monitor re-reads the model list: a model that reaches production waits at most this long for its first check.</summary>
    [Range(0.1, 3600)]
    public double MonitorListSeconds { get; set; } = 30;
    /// <summary>
    /// Local exporters of the OpenTelemetry traces and metrics: "none" (default), "console", "otlp" (to
    /// OTEL_EXPORTER_OTLP_ENDPOINT) or "console,otlp". Azure Monitor needs no value here: it is on whenever
    /// APPLICATIONINSIGHTS_CONNECTION_STRING is set (see Telemetry.MlopsTelemetry).
    /// </summary>
    [RegularExpression(@"^\s*(?i:none|console|otlp)?(\s*,\s*(?i:none|console|otlp))*\s*$")]
    public string Telemetry { get; set; } = "none";
}
