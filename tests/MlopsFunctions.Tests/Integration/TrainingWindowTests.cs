using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Integration;

/// <summary>Training windows by age and retention of old datasets, on a real Azurite with an injected clock.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TrainingWindowTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private readonly ModelRegistry registry = new(new TableServiceClient(azurite.ConnectionString));
    private readonly BlobStore blobs = new(new BlobServiceClient(azurite.ConnectionString));
    private readonly string model = "w" + Guid.NewGuid().ToString("N")[..12];
    private readonly FixedClock clock = new(Now);

    public async Task InitializeAsync()
    {
        await registry.EnsureTableAsync();
        await new RunStore(new TableServiceClient(azurite.ConnectionString)).EnsureTableAsync();
        await blobs.EnsureContainersAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_one_day_window_takes_only_the_datasets_accepted_in_the_last_day()
    {
        var old = await AddDatasetAsync("a", Now.AddDays(-3));
        var yesterday = await AddDatasetAsync("b", Now.AddHours(-30));
        var recent = await AddDatasetAsync("c", Now.AddHours(-2));
        var windows = Windows();

        var day = await windows.SelectAsync(model, Spec(new TrainingWindow("days", 1)), []);
        var twoDays = await windows.SelectAsync(model, Spec(new TrainingWindow("days", 2)), []);
        var all = await windows.SelectAsync(model, Spec(TrainingWindow.All), []);
        var latest = await windows.SelectAsync(model, Spec(TrainingWindow.Latest), []);

        Assert.Equal([recent], day.Select(d => d.Sha256));
        Assert.Equal([yesterday, recent], twoDays.Select(d => d.Sha256));
        Assert.Equal([old, yesterday, recent], all.Select(d => d.Sha256));
        Assert.Equal([recent], latest.Select(d => d.Sha256));
        clock.Now = Now.AddDays(1); // the window slides: a change, with no new data
        Assert.Empty(await windows.SelectAsync(model, Spec(new TrainingWindow("days", 1)), []));
    }

    [Fact]
    public async Task Retention_removes_an_expired_dataset_no_kept_version_names_and_keeps_one_that_is_named()
    {
        var named = await AddDatasetAsync("named", Now.AddDays(-400));
        var orphan = await AddDatasetAsync("orphan", Now.AddDays(-400));
        var fresh = await AddDatasetAsync("fresh", Now.AddDays(-10));
        await registry.ReserveVersionAsync(model, v => Version(v, named), "run-1");
        await registry.StageAsync(model, 1, "test", "stage");
        await registry.SwapAsync(model, "test", "promote");

        var retention = new DatasetRetention(registry, blobs, new SingleFlight(new TableServiceClient(azurite.ConnectionString)), clock,
            NullLogger<DatasetRetention>.Instance);
        var removed = await retention.ExpireAsync(model, Spec(TrainingWindow.All) with { Retention = new RetentionSpec { Days = 365 } });

        Assert.Equal([$"datasets/{model}/{orphan}.csv"], removed);
        Assert.Equal([named, fresh], (await registry.ListDatasetsAsync(model)).Select(d => d.Sha256));
        Assert.False(await blobs.Blob(BlobPath.Dataset(model, orphan)).ExistsAsync());
        Assert.True(await blobs.Blob(BlobPath.Dataset(model, named)).ExistsAsync());
        var expired = Assert.Single(await registry.ListEventsAsync(model), e => e.Kind == "expire");
        Assert.Contains(orphan[..12], expired.Reason, StringComparison.Ordinal);
        Assert.Equal("retention", expired.Actor);
    }

    private TrainingWindows Windows() => new(registry, blobs, new DatasetFiles(blobs, NullLogger<DatasetFiles>.Instance),
        Options.Create(new MlopsOptions()), clock);

    private static ModelSpec Spec(TrainingWindow window) => new() { Task = "multiclass", Label = "species", TrainOn = window };

    private ModelVersion Version(int v, string sha) => new()
    {
        Version = v,
        Status = VersionStatus.Passed,
        RunId = "run-1",
        CreatedAt = Now,
        Lineage = new Lineage("x", $"datasets/{model}/{sha}.csv", sha, "blob", Spec(TrainingWindow.All), 42, 0.2)
        {
            Datasets = [new DatasetUse($"datasets/{model}/{sha}.csv", sha, 10)],
        },
    };

    /// <summary>An accepted dataset as validation records it: the CSV and its documents, and its catalog row.</summary>
    private async Task<string> AddDatasetAsync(string name, DateTimeOffset acceptedAt)
    {
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(model + name)));
        var dataset = BlobPath.Dataset(model, sha);
        await blobs.UploadAsync(dataset, BinaryData.FromString("a,species\n1,x\n"));
        string Doc(string kind) => $"datasets/{model}/{sha}.{kind}.json";
        foreach (var kind in new[] { "report", "profile", "schema" })
        {
            await blobs.UploadAsync(BlobPath.Parse(Doc(kind)), BinaryData.FromString("{}"));
        }

        await registry.AddDatasetAsync(model, new DatasetRecord(dataset.ToString(), sha, $"incoming/{model}/{name}.csv", acceptedAt, 1, 1, 14,
            Doc("report"), Doc("profile"), Doc("schema"), "run"));
        return sha;
    }

    /// <summary>A clock the test sets.</summary>
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
