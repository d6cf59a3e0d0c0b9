using System.Reflection;
using Microsoft.DurableTask;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>Marks a run running, with the instance, seed and the versions of the app and ML.NET that ran it.</summary>
public sealed class StartRunActivity(RunStore runs, IOptions<MlopsOptions> options) : TaskActivity<StartRunInput, string>
{
    public static string MlNetVersion { get; } =
        typeof(Microsoft.ML.MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    public override async Task<string> RunAsync(TaskActivityContext context, StartRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var request = input.Request;
        var now = DateTimeOffset.UtcNow;
        RunRecord Started(RunRecord r) => r with
        {
            Status = RunStatuses.Running,
            Stage = Stages.Validating,
            StartedAt = r.StartedAt ?? now,
            InstanceId = input.InstanceId,
            Seed = options.Value.Seed,
            AppVersion = StorageHealth.AppVersion,
            MlNetVersion = MlNetVersion,
        };

        if (await runs.UpdateAsync(request.Model, request.RunId, Started).ConfigureAwait(false) is null)
        {
            await runs.TryCreateAsync(Started(PipelineStarter.NewRecord(request))).ConfigureAwait(false);
        }

        return input.InstanceId;
    }
}

/// <summary>
/// Records how a run ended, makes sure none of its versions is left in a transient status, and hands the model's
/// queue on: returns the pending request the orchestration continues with, if any.
/// </summary>
public sealed class FinishRunActivity(RunStore runs, SingleFlight queue, ModelRegistry registry) : TaskActivity<FinishInput, RunRequest?>
{
    public override async Task<RunRequest?> RunAsync(TaskActivityContext context, FinishInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var result = input.Result;
        if (result.Version is { } version && result.Outcome != Outcomes.Promoted &&
            await registry.GetVersionAsync(input.Model, version).ConfigureAwait(false) is { } record && VersionStatus.IsTransient(record.Status))
        {
            await registry.UpdateVersionAsync(input.Model, record with
            {
                Status = VersionStatus.Failed,
                StatusReason = $"the run ended ({result.Outcome}: {result.Reason}) before the version was settled",
                UpdatedAt = DateTimeOffset.UtcNow,
            }).ConfigureAwait(false);
        }

        await runs.UpdateAsync(input.Model, input.RunId, r => r with
        {
            Status = result.Outcome switch
            {
                Outcomes.Failed => RunStatuses.Failed,
                Outcomes.Skipped => RunStatuses.Skipped,
                _ => RunStatuses.Completed,
            },
            Stage = Stages.Done,
            Outcome = result.Outcome,
            Reason = result.Reason,
            Version = result.Version ?? r.Version,
            Metric = result.Metric ?? r.Metric,
            Value = result.Value ?? r.Value,
            EndedAt = DateTimeOffset.UtcNow,
        }).ConfigureAwait(false);
        return await queue.FinishAsync(input.Model, input.RunId, input.InstanceId).ConfigureAwait(false);
    }
}
