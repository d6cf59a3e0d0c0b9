using Microsoft.DurableTask;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>Puts a candidate that passed its gates (or awaits approval) into the staging slot.</summary>
public sealed class StageModelActivity(ModelRegistry registry, ModelCache cache, RunStore runs) : TaskActivity<SlotInput, SlotState>
{
    public override async Task<SlotState> RunAsync(TaskActivityContext context, SlotInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var slots = await registry.StageAsync(input.Model, input.Version, input.Actor, input.Reason).ConfigureAwait(false);
        cache.InvalidateSlots(input.Model);
        if (input.RunId is { } runId)
        {
            await runs.UpdateAsync(input.Model, runId, r => r with { Stage = input.Stage ?? Stages.Staging }).ConfigureAwait(false);
        }

        return slots;
    }
}

/// <summary>
/// Swaps the staged candidate into production, but only while production is still the champion it was compared
/// with, and only once the staged model loads from its blob (hash verified) and scores its sample rows (the smoke
/// test). Retried attempts do not swap twice.
/// </summary>
public sealed class PromoteModelActivity(ModelRegistry registry, ModelCache cache, RunStore runs, SmokeTester smoke) : TaskActivity<PromoteInput, PromoteOutcome>
{
    public override async Task<PromoteOutcome> RunAsync(TaskActivityContext context, PromoteInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return await RunCoreAsync(input).ConfigureAwait(false);
    }

    private async Task<PromoteOutcome> RunCoreAsync(PromoteInput input)
    {
        if (input.RunId is { } runId)
        {
            await runs.UpdateAsync(input.Model, runId, r => r with { Stage = Stages.Promoting }).ConfigureAwait(false);
        }

        var slots = await registry.GetSlotsAsync(input.Model).ConfigureAwait(false);
        if (slots.Production == input.Version)
        {
            return new PromoteOutcome(true, input.Version, "already in production");
        }

        if (slots.Production != input.ExpectedProduction)
        {
            return new PromoteOutcome(false, slots.Production,
                $"production changed from {Name(input.ExpectedProduction)} to {Name(slots.Production)} since the evaluation");
        }

        // A version that cannot load or predict never reaches production; the event says why.
        var test = await smoke.TestAndRecordAsync(input.Model, input.Version, input.Actor, warmCache: false).ConfigureAwait(false);
        if (!test.Passed)
        {
            return new PromoteOutcome(false, slots.Production,
                $"v{input.Version} failed its smoke test: {test.Reason} Production keeps {Name(slots.Production)}.") { SmokeFailed = true };
        }

        slots = await registry.SwapAsync(input.Model, input.Actor, input.Reason, expectedStaging: input.Version).ConfigureAwait(false);
        cache.InvalidateSlots(input.Model);
        return new PromoteOutcome(true, slots.Production, input.Reason);
    }

    private static string Name(int? version) => version is { } v ? $"v{v}" : "none";
}

/// <summary>Marks a candidate declined (rejected by an operator, not approved in time, or overtaken), or failed, and takes it out of staging.</summary>
public sealed class DeclineModelActivity(ModelRegistry registry, ModelCache cache) : TaskActivity<SlotInput, SlotState>
{
    public override async Task<SlotState> RunAsync(TaskActivityContext context, SlotInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await VersionStatusWriter.SetAsync(registry, input.Model, input.Version, input.Status ?? VersionStatus.Declined, input.Reason).ConfigureAwait(false);
        var slots = await registry.UnstageAsync(input.Model, input.Version, input.Actor, input.Reason).ConfigureAwait(false);
        cache.InvalidateSlots(input.Model);
        return slots;
    }
}

/// <summary>Sets a version's status and reason (failed, approved).</summary>
public sealed class SetVersionStatusActivity(ModelRegistry registry) : TaskActivity<StatusInput, string>
{
    public override async Task<string> RunAsync(TaskActivityContext context, StatusInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await VersionStatusWriter.SetAsync(registry, input.Model, input.Version, input.Status, input.Reason).ConfigureAwait(false);
        return input.Status;
    }
}

internal static class VersionStatusWriter
{
    public static async Task SetAsync(ModelRegistry registry, string model, int version, string status, string reason)
    {
        var record = await registry.GetVersionAsync(model, version).ConfigureAwait(false);
        if (record is null)
        {
            return; // nothing was registered (the failure came before the version row): nothing to mark
        }

        await registry.UpdateVersionAsync(model, record with { Status = status, StatusReason = reason, UpdatedAt = DateTimeOffset.UtcNow })
            .ConfigureAwait(false);
    }
}
