using Azure.Data.Tables;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Integration;

/// <summary>What serving reads of the registry on a real Azurite: slots and spec in one query, recorded events, history.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ServingRegistryTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly ModelRegistry registry = new(new TableServiceClient(azurite.ConnectionString));
    private readonly string model = "s" + Guid.NewGuid().ToString("N")[..12];

    public Task InitializeAsync() => registry.EnsureTableAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Serving_state_carries_slots_and_spec_in_one_read()
    {
        Assert.Equal((SlotState.Empty.Production, null), ((await registry.GetServingStateAsync(model)).Slots.Production, (await registry.GetServingStateAsync(model)).Spec));
        await registry.PutSpecAsync(model, new ModelSpec { Task = "binary", Label = "y", Canary = new CanarySpec { Percent = 10 }, Shadow = true });
        await registry.StageAsync(model, 1, "test", "stage 1");

        var (slots, spec) = await registry.GetServingStateAsync(model);

        Assert.Equal((null, 1), (slots.Production, slots.Staging));
        Assert.Equal((10.0, true), (spec!.Canary!.Percent, spec.Shadow));
    }

    [Fact]
    public async Task Production_at_an_instant_comes_from_the_events_alone()
    {
        await registry.StageAsync(model, 1, "test", "stage 1");
        await registry.SwapAsync(model, "test", "promote 1");
        var afterFirst = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        await registry.StageAsync(model, 2, "test", "stage 2");
        await registry.SwapAsync(model, "test", "promote 2");
        await registry.RecordEventAsync(model, EventKinds.SmokeTestFailed, 1, "test", "smoke test failed: broken");
        var afterSecond = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        await registry.RollbackAsync(model, "test", "roll back", expectedTarget: 1);

        var events = await registry.ListEventsAsync(model);

        Assert.Null(SlotHistory.ProductionAt(events, events[0].At.AddTicks(-1)));
        Assert.Equal(1, SlotHistory.ProductionAt(events, afterFirst)!.ProductionAfter);
        Assert.Equal(2, SlotHistory.ProductionAt(events, afterSecond)!.ProductionAfter);
        Assert.Equal(1, SlotHistory.ProductionAt(events, DateTimeOffset.UtcNow)!.ProductionAfter);
        var smoke = Assert.Single(events, e => e.Kind == EventKinds.SmokeTestFailed);
        Assert.Equal((2, 2, 1), (smoke.ProductionBefore, smoke.ProductionAfter, smoke.StagingAfter));
        await Assert.ThrowsAsync<RegistryConflictException>(() => registry.RollbackAsync(model, "test", "wrong target", expectedTarget: 7));
    }
}
