using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Integration;

/// <summary>The registry and model store on a real Azurite: rows, transactions, ETag races and hash checks.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RegistryTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly ModelRegistry registry = new(new TableServiceClient(azurite.ConnectionString));
    private readonly BlobStore blobs = new(new BlobServiceClient(azurite.ConnectionString));
    private readonly string model = "m" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync()
    {
        await registry.EnsureTableAsync();
        await blobs.EnsureContainersAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static ModelVersion NewVersion(int v, string run) => new()
    {
        Version = v,
        Status = VersionStatus.Training,
        RunId = run,
        CreatedAt = DateTimeOffset.UtcNow,
        Lineage = new Lineage("incoming/m/a.csv", "datasets/m/x.csv", "x", "blob", new ModelSpec { Task = "binary", Label = "y" }, 42, 0.2),
    };

    [Fact]
    public async Task Spec_and_versions_round_trip()
    {
        var spec = new ModelSpec { Task = "regression", Label = "y", Gates = new GateSpec { MinMetric = 0.5 }, RetrainSchedule = "0 0 3 * * *" };

        Assert.True(await registry.PutSpecAsync(model, spec));
        Assert.False(await registry.PutSpecAsync(model, spec));
        var v1 = await registry.ReserveVersionAsync(model, v => NewVersion(v, "run-a"), "run-a");
        var again = await registry.ReserveVersionAsync(model, v => NewVersion(v, "run-a"), "run-a");
        var v2 = await registry.ReserveVersionAsync(model, v => NewVersion(v, "run-b"), "run-b");
        await registry.UpdateVersionAsync(model, (await registry.GetVersionAsync(model, v2))! with { Status = VersionStatus.Passed, MetricValue = 0.9 });

        Assert.Equal(spec, await registry.GetSpecAsync(model));
        Assert.Equal((1, 1, 2), (v1, again, v2));
        Assert.Equal([2, 1], (await registry.ListVersionsAsync(model)).Select(v => v.Version));
        Assert.Equal(0.9, (await registry.GetVersionAsync(model, 2))!.MetricValue);
        Assert.Contains(await registry.ListModelsAsync(), m => m.Name == model && m.LastVersion == 2);
    }

    [Fact]
    public async Task Stage_swap_and_rollback_move_pointers_and_record_events()
    {
        await registry.StageAsync(model, 1, "test", "first");
        var afterFirst = await registry.SwapAsync(model, "test", "promote 1");
        await registry.StageAsync(model, 2, "test", "second");
        var afterSecond = await registry.SwapAsync(model, "test", "promote 2");
        var rolledBack = await registry.RollbackAsync(model, "alice", "bad release");

        Assert.Equal(new SlotState(1, null, []), afterFirst with { History = [] });
        Assert.Equal((2, 1), (afterSecond.Production!.Value, afterSecond.Staging!.Value));
        Assert.Equal(1, rolledBack.Production);
        Assert.Equal(1, (await registry.GetSlotsAsync(model)).Production);
        var events = await registry.ListEventsAsync(model);
        Assert.Equal(["stage", "swap", "stage", "swap", "rollback"], events.Select(e => e.Kind));
        Assert.Equal(("alice", 2, 1), (events[^1].Actor, events[^1].ProductionBefore!.Value, events[^1].ProductionAfter!.Value));
        await Assert.ThrowsAsync<RegistryConflictException>(() => registry.RollbackAsync(model, "alice", "again"));
    }

    [Fact]
    public async Task Concurrent_swaps_never_lose_an_update()
    {
        await registry.StageAsync(model, 1, "test", "seed");
        await registry.SwapAsync(model, "test", "seed");
        await registry.StageAsync(model, 2, "test", "seed");
        var others = Enumerable.Range(0, 8).Select(_ => new ModelRegistry(new TableServiceClient(azurite.ConnectionString))).ToList();

        var outcomes = await Task.WhenAll(others.Select(async r =>
        {
            try
            {
                await r.SwapAsync(model, "racer", "race");
                return true;
            }
            catch (RegistryConflictException)
            {
                return false;
            }
        }));

        var wins = outcomes.Count(w => w);
        var slots = await registry.GetSlotsAsync(model);
        var swaps = (await registry.ListEventsAsync(model)).Count(e => e.Kind == "swap" && e.Actor == "racer");
        Assert.InRange(wins, 1, 8);
        Assert.Equal(wins, swaps);
        Assert.Equal(wins % 2 == 1 ? (2, 1) : (1, 2), (slots.Production!.Value, slots.Staging!.Value));
        Assert.Equal(wins, slots.History.Count);
    }

    [Fact]
    public async Task A_tampered_model_file_is_refused()
    {
        var store = new ModelStore(blobs);
        var bytes = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "MlopsFunctions.Core.dll"));
        var path = await store.SaveAsync(model, 1, bytes);
        var record = NewVersion(1, "r") with
        {
            ModelBlob = path,
            ModelSha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)),
            Schema = new() { Task = MlTask.Binary, Label = "y", NumericFeatures = ["x"], CategoricalFeatures = [] },
        };
        await blobs.UploadAsync(BlobPath.Parse(path), BinaryData.FromString("not the model"));

        var ex = await Assert.ThrowsAsync<ModelUnavailableException>(() => store.LoadAsync(model, record));

        Assert.Contains("does not match its registered SHA-256", ex.Message, StringComparison.Ordinal);
    }
}
