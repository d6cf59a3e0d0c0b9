using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Integration;

/// <summary>The serving cache and the smoke test against a real Azurite, with table storage made to fail on demand.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ServingCacheTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FlakyTransport transport = new();
    private readonly string model = "c" + Guid.NewGuid().ToString("N")[..12];
    private ModelRegistry registry = null!;
    private BlobStore blobs = null!;

    public async Task InitializeAsync()
    {
        registry = new ModelRegistry(new TableServiceClient(azurite.ConnectionString, new TableClientOptions { Transport = transport }));
        blobs = new BlobStore(new BlobServiceClient(azurite.ConnectionString));
        await registry.EnsureTableAsync();
        await blobs.EnsureContainersAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task When_table_storage_fails_serving_keeps_the_last_known_state()
    {
        var cache = Cache(slotCacheSeconds: 0);
        await registry.PutSpecAsync(model, new ModelSpec { Task = "binary", Label = "y", Canary = new CanarySpec { Percent = 5 } });
        await registry.StageAsync(model, 1, "test", "stage");
        await registry.SwapAsync(model, "test", "promote");
        Assert.Equal(1, (await cache.GetStateAsync(model)).Slots.Production);

        transport.Failing = true;
        cache.InvalidateSlots(model);
        var state = await cache.GetStateAsync(model);
        await Task.Delay(50);
        var again = await cache.GetStateAsync(model);

        Assert.Equal((1, 1), (state.Slots.Production, again.Slots.Production));
        await Assert.ThrowsAsync<ModelUnavailableException>(async () => await Cache(0).GetStateAsync(model)); // never served: nothing to fall back on
        transport.Failing = false;
    }

    [Fact]
    public async Task Promotion_of_a_version_that_cannot_load_fails_with_the_reason_and_an_event()
    {
        await registry.PutSpecAsync(model, new ModelSpec { Task = "binary", Label = "y" });
        await registry.ReserveVersionAsync(model, v => new ModelVersion
        {
            Version = v,
            Status = VersionStatus.Passed,
            RunId = "run-1",
            CreatedAt = DateTimeOffset.UtcNow,
            Schema = new DatasetSchema { Task = MlTask.Binary, Label = "y", NumericFeatures = ["a"], CategoricalFeatures = [], PositiveLabel = "1", NegativeLabel = "0" },
            Lineage = new Lineage("incoming/m/a.csv", "datasets/m/x.csv", "x", "blob", new ModelSpec { Task = "binary", Label = "y" }, 42, 0.2),
        }, "run-1");
        await registry.StageAsync(model, 1, "test", "stage");
        var cache = Cache(2);
        var activity = new PromoteModelActivity(registry, cache, new RunStore(new TableServiceClient(azurite.ConnectionString)),
            new SmokeTester(registry, new ModelStore(blobs), blobs, cache, NullLogger<SmokeTester>.Instance));

        var outcome = await activity.RunAsync(Mock.Of<TaskActivityContext>(), new PromoteInput(model, 1, "pipeline:run-1", "promote", ExpectedProduction: null));

        Assert.False(outcome.Promoted);
        Assert.True(outcome.SmokeFailed);
        Assert.Contains("failed its smoke test: smoke test failed", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("has no stored model", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal((null, 1), ((await registry.GetSlotsAsync(model)).Production, (await registry.GetSlotsAsync(model)).Staging));
        var failed = (await registry.ListEventsAsync(model))[^1];
        Assert.Equal((EventKinds.SmokeTestFailed, 1, "pipeline:run-1"), (failed.Kind, failed.Version, failed.Actor));
    }

    private ModelCache Cache(double slotCacheSeconds) => new(registry, new ModelStore(blobs),
        Options.Create(new MlopsOptions { SlotCacheSeconds = slotCacheSeconds }), NullLogger<ModelCache>.Instance);

    /// <summary>The real HTTP transport, or a connection failure while <see cref="Failing"/> is set.</summary>
    private sealed class FlakyTransport : HttpPipelineTransport
    {
        private readonly HttpClientTransport inner = HttpClientTransport.Shared;

        public volatile bool Failing;

        public override Request CreateRequest() => inner.CreateRequest();

        public override void Process(HttpMessage message)
        {
            ThrowIfFailing();
            inner.Process(message);
        }

        public override ValueTask ProcessAsync(HttpMessage message)
        {
            ThrowIfFailing();
            return inner.ProcessAsync(message);
        }

        private void ThrowIfFailing()
        {
            if (Failing)
            {
                throw new Azure.RequestFailedException("simulated table storage outage");
            }
        }
    }
}
