using Microsoft.DurableTask;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>Puts a candidate that passed its gates into the staging slot.</summary>
public sealed class StageModelActivity(ModelRegistry registry, ModelCache cache) : TaskActivity<SlotInput, SlotState>
{
    public override async Task<SlotState> RunAsync(TaskActivityContext context, SlotInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var slots = await registry.StageAsync(input.Model, input.Version, input.Actor, input.Reason).ConfigureAwait(false);
        cache.InvalidateSlots(input.Model);
        return slots;
    }
}

/// <summary>Swaps the staged candidate into production, after it passes the smoke test; retried attempts do not swap twice.</summary>
public sealed class PromoteModelActivity(ModelRegistry registry, ModelCache cache, SmokeTester smoke) : TaskActivity<SlotInput, SlotState>
{
    public override async Task<SlotState> RunAsync(TaskActivityContext context, SlotInput input)
    {
        ArgumentNullException.ThrowIfNull(input);

        // Smoke test (serving's SmokeTester): a version that cannot load or predict never reaches production.
        var current = await registry.GetSlotsAsync(input.Model).ConfigureAwait(false);
        if (!(current.Production == input.Version && current.Staging != input.Version))
        {
            var result = await smoke.TestAndRecordAsync(input.Model, input.Version, input.Actor, warmCache: false).ConfigureAwait(false);
            if (!result.Passed)
            {
                throw new InvalidOperationException(
                    $"v{input.Version} of '{input.Model}' was not promoted: {result.Reason} Production keeps v{current.Production?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}.");
            }
        }

        var slots = await registry.SwapAsync(input.Model, input.Actor, input.Reason, expectedStaging: input.Version).ConfigureAwait(false);
        cache.InvalidateSlots(input.Model);
        return slots;
    }
}

/// <summary>Marks a candidate declined (rejected by an operator, or not approved in time) and takes it out of staging.</summary>
public sealed class DeclineModelActivity(ModelRegistry registry, ModelCache cache) : TaskActivity<SlotInput, SlotState>
{
    public override async Task<SlotState> RunAsync(TaskActivityContext context, SlotInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await VersionStatusWriter.SetAsync(registry, input.Model, input.Version, VersionStatus.Declined, input.Reason).ConfigureAwait(false);
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
        var record = await registry.GetVersionAsync(model, version).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Version {version} of '{model}' is not registered.");
        await registry.UpdateVersionAsync(model, record with { Status = status, StatusReason = reason, UpdatedAt = DateTimeOffset.UtcNow })
            .ConfigureAwait(false);
    }
}
